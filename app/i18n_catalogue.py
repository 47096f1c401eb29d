"""The shipped catalogues against the extracted texts: what is missing, what breaks a placeholder,
which compiled file is stale. Used by tests/test_translations.py and by `make messages`:
`python -m app.i18n_catalogue --update` extracts every wrapped text into messages.pot, merges it
into each language's messages.po, compiles the .mo files and lists what is left to translate
(exit status 1 while anything is)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

DIRECTORY = Path(__file__).resolve().parent / "translations"
ROOT = DIRECTORY.parents[1]
TEMPLATE = DIRECTORY / "messages.pot"
# The markers of a text to translate: _() and gettext/ngettext (Babel's defaults), _l() and
# lazy_gettext() (lazy, for module-level tables), N_() (marked only, translated where used).
KEYWORDS = ("_l", "lazy_gettext", "N_")
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-c", "import sys; from babel.messages.frontend import main; sys.exit(main())", "-q", *args]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def extract(output: Path = TEMPLATE) -> Path:
    """Every wrapped text of app/ and templates/ into a .pot file."""
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    _pybabel("extract", "-F", "babel.cfg", *keywords, "--sort-by-file", "--project", "8D Workbench",
             "--copyright-holder", "8D Workbench", "-o", str(output), ".")
    return output


def _without_date(path: Path) -> str:
    return re.sub(r'^"POT-Creation-Date: .*$', "", path.read_text(encoding="utf-8"), flags=re.M) if path.is_file() else ""


def update() -> None:
    """`make messages`: extract, merge into every language's catalogue, compile. When the texts
    did not change, the files stay as they are (no new dates to merge in other branches)."""
    fresh = extract(TEMPLATE.with_suffix(".pot.new"))
    if _without_date(fresh) == _without_date(TEMPLATE):
        fresh.unlink()
    else:
        fresh.replace(TEMPLATE)
        _pybabel("update", "-i", str(TEMPLATE), "-d", str(DIRECTORY), "--ignore-obsolete")
    _pybabel("compile", "-d", str(DIRECTORY))


def shipped_languages() -> list[str]:
    return sorted(p.name for p in DIRECTORY.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())


def _read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def template() -> Catalog:
    return _read(TEMPLATE)


def catalogue(language: str) -> Catalog:
    return _read(DIRECTORY / language / "LC_MESSAGES" / "messages.po")


def _texts(message) -> list[str]:
    return list(message.string) if isinstance(message.string, list | tuple) else [message.string]


def format_errors(language: str) -> list[str]:
    """Translations that would raise when formatted: every text of a template is formatted
    (Jinja's newstyle gettext), and every Python text given variables."""
    out = []
    for message in catalogue(language):
        if not message.id or message.fuzzy:
            continue
        formatted = message.python_format or any(path.startswith("templates/") for path, _line in message.locations)
        if not formatted:
            continue
        for text in _texts(message):
            try:
                text % _Anything()
            except (ValueError, TypeError, KeyError) as exc:
                out.append(f"{message.id!r} -> {text!r}: {exc}")
    return out


class _Anything(dict):
    def __missing__(self, key):
        return 1


def missing(language: str, pot: Catalog | None = None) -> list[str]:
    """Texts of the template without a translation (empty, fuzzy or absent) in `language`."""
    pot = pot or template()
    po = catalogue(language)
    out = []
    for message in pot:
        if not message.id:
            continue
        found = po.get(message.id, message.context)
        if found is None or found.fuzzy or not all(_texts(found)):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) if not m.group(1) else m.group(1) for m in _PLACEHOLDER.finditer(text.replace("%%", "")))


def placeholder_errors(language: str) -> list[str]:
    """Translations whose %(name)s placeholders differ from the English text's."""
    out = []
    for message in catalogue(language):
        if not message.id or message.fuzzy:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        wanted = set(_placeholders(ids[-1])) | set(_placeholders(ids[0]))
        for text in _texts(message):
            if text and set(_placeholders(text)) != wanted:
                out.append(f"{ids[0]!r} -> {text!r}")
    return out


def stale_compiled(language: str) -> list[str]:
    """Translations of the .po that the committed .mo does not hold (run `make messages`)."""
    mo_path = DIRECTORY / language / "LC_MESSAGES" / "messages.mo"
    if not mo_path.is_file():
        return ["messages.mo is missing"]
    with mo_path.open("rb") as f:
        mo = read_mo(f)
    out = []
    for message in catalogue(language):
        if not message.id or message.fuzzy or not all(_texts(message)):
            continue
        compiled = mo.get(message.id, message.context)
        if compiled is None or _texts(compiled) != _texts(message):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main() -> int:
    if "--update" in sys.argv:
        update()
    pot = template()
    total = len([m for m in pot if m.id])
    bad = 0
    for language in shipped_languages():
        gaps = missing(language, pot)
        errors = placeholder_errors(language) + format_errors(language)
        print(f"{language}: {total - len(gaps)} of {total} texts translated, {len(gaps)} to do, {len(errors)} placeholder errors")
        for text in gaps:
            print(f"  to translate: {text!r}")
        for text in errors:
            print(f"  placeholder: {text}")
        bad += len(gaps) + len(errors)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
