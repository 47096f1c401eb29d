"""integrity: actions are the one record, evidence fields, related reports, decline

Revision ID: 0007
Revises: 0006_admin_levels
Create Date: 2026-12-01 20:00:00

Schema: actions get a reference (ICA1, PCA2, PA1 - unique per report and kind), the D4 causes
they address (`causes`, replacing `cause_ref`), containment dates and % effective,
pre-verification, error-proofing, target, implementation date and evidence lists; reports get
`related_report_id` and `outcome`; reviews get `kind` (stage | decline) and the decline's
reason, related report and evidence.

Data - nothing is lost:
- every row of the D3 containment table becomes a containment action, every row of the D5 PCA
  table a corrective action; D6 implementation rows set the implementation date of the matching
  corrective action, D6 containment-removal rows lift the matching containment action (rows
  without a match become actions of their own). Owners named in free text are matched to the
  report's team by name (else the team leader / champion, the name kept in the description);
  evidence named in free text is matched to the report's files by name (the text is kept in the
  description). A row marked "verified" in the old table becomes an *implemented* action with a
  note: who verified it was never recorded, and a verification needs a second person - the gates
  ask for it again.
- D4 causes' evidence, free text before, becomes a list of the report's files whose names match;
  the text is appended to the cause's verification result.
- The moved tables leave the disciplines' current values (new version and revision); the older
  revisions (discipline_revision) keep them as they were: that is the record of this migration.
  No audit events are written here (the audit chain is keyed outside the database).
- Existing tracked actions keep everything; their `cause_ref` moves into `causes`.
- Closed reports get the outcome "resolved"; a free-text related report that names a report of
  the same two companies is linked.

Downgrade (PostgreSQL only): the new columns go, `cause_ref` comes back from `causes`; actions
created from table rows stay actions. On SQLite restore the backup taken before upgrading.
"""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006_admin_levels'
branch_labels = None
depends_on = None

JSONT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
NOTE = "Moved by migration 0007 from the former {table} table{ref}."


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _add_fk_column(table: str, column: str, referred: str) -> None:
    name = f'fk_{table}_{column}_{referred}'
    if _sqlite():  # ALTER TABLE ADD COLUMN may carry a REFERENCES clause; no table rebuild
        op.execute(f'ALTER TABLE "{table}" ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES "{referred}" (id)')
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, referred, [column], ['id'])


def _add_json_list(table: str, column: str) -> None:
    """A NOT NULL JSON list column, [] for the rows there are."""
    if _sqlite():
        op.execute(f"""ALTER TABLE "{table}" ADD COLUMN {column} JSON NOT NULL DEFAULT '[]'""")
    else:
        op.add_column(table, sa.Column(column, JSONT, nullable=True))
        op.execute(f"""UPDATE "{table}" SET {column} = '[]'""")
        op.alter_column(table, column, nullable=False)


def upgrade():
    # ---------------------------------------------------------------------------------- schema
    # Plain ALTERs only: on SQLite a batch rebuild of report/action/review would drop tables that
    # others reference (with foreign keys on, their rows would cascade away).
    if _sqlite():
        op.execute("""ALTER TABLE action ADD COLUMN ref VARCHAR(20) NOT NULL DEFAULT ''""")
    else:
        op.add_column('action', sa.Column('ref', sa.String(length=20), nullable=True))
    _add_json_list('action', 'causes')
    op.add_column('action', sa.Column('introduced_on', sa.Date(), nullable=True))
    op.add_column('action', sa.Column('effective_from', sa.Date(), nullable=True))
    op.add_column('action', sa.Column('effective_pct', sa.Integer(), nullable=True))
    op.add_column('action', sa.Column('pre_verification', sa.Text(), nullable=True))
    op.add_column('action', sa.Column('error_proofing', sa.Text(), nullable=True))
    op.add_column('action', sa.Column('target', sa.String(length=500), nullable=True))
    op.add_column('action', sa.Column('implemented_on', sa.Date(), nullable=True))
    for name in ('evidence', 'pre_verification_evidence', 'implementation_evidence'):
        _add_json_list('action', name)
    _add_fk_column('report', 'related_report_id', 'report')
    op.add_column('report', sa.Column('outcome', sa.String(length=10), nullable=True))
    op.add_column('review', sa.Column('kind', sa.String(length=10), server_default='stage', nullable=False))
    op.add_column('review', sa.Column('decline_reason', sa.String(length=30), nullable=True))
    _add_fk_column('review', 'related_report_id', 'report')
    op.add_column('review', sa.Column('evidence', JSONT, nullable=True))

    # ------------------------------------------------------------------------------------ data
    _Migration(op.get_bind()).run()

    # -------------------------------------------------------------------------- schema, after
    if _sqlite():
        op.execute('ALTER TABLE action DROP COLUMN cause_ref')
    else:
        op.alter_column('action', 'ref', nullable=False)
        op.drop_column('action', 'cause_ref')
    op.create_index('uq_action_report_kind_ref', 'action', ['report_id', 'kind', 'ref'], unique=True)


def downgrade():
    if _sqlite():
        raise NotImplementedError("0007 cannot be undone on SQLite without rebuilding tables that others reference: restore the backup taken before the upgrade.")
    op.drop_index('uq_action_report_kind_ref', table_name='action')
    op.add_column('action', sa.Column('cause_ref', sa.String(length=40), nullable=True))
    op.execute("UPDATE action SET cause_ref = causes->>0")
    for name in ('ref', 'causes', 'introduced_on', 'effective_from', 'effective_pct', 'pre_verification', 'error_proofing', 'target',
                 'implemented_on', 'evidence', 'pre_verification_evidence', 'implementation_evidence'):
        op.drop_column('action', name)
    op.drop_constraint('fk_review_related_report_id_report', 'review', type_='foreignkey')
    for name in ('kind', 'decline_reason', 'related_report_id', 'evidence'):
        op.drop_column('review', name)
    op.drop_constraint('fk_report_related_report_id_report', 'report', type_='foreignkey')
    op.drop_column('report', 'related_report_id')
    op.drop_column('report', 'outcome')


# ------------------------------------------------------------------------------------ the data
meta = sa.MetaData()
report_t = sa.Table(
    'report', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('number', sa.String), sa.Column('status', sa.String),
    sa.Column('oem_id', sa.Integer), sa.Column('supplier_id', sa.Integer), sa.Column('created_at', sa.DateTime),
    sa.Column('created_by_id', sa.Integer), sa.Column('detected_on', sa.Date), sa.Column('related_report', sa.String),
    sa.Column('related_report_id', sa.Integer), sa.Column('outcome', sa.String),
)
discipline_t = sa.Table(
    'discipline', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('report_id', sa.Integer), sa.Column('code', sa.String),
    sa.Column('version', sa.Integer), sa.Column('values', JSONT), sa.Column('field_versions', JSONT), sa.Column('updated_at', sa.DateTime),
    sa.Column('updated_by_id', sa.Integer),
)
revision_t = sa.Table(
    'discipline_revision', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('report_id', sa.Integer), sa.Column('code', sa.String),
    sa.Column('version', sa.Integer), sa.Column('values', JSONT), sa.Column('created_at', sa.DateTime), sa.Column('created_by_id', sa.Integer),
)
team_t = sa.Table('team_member', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('report_id', sa.Integer), sa.Column('user_id', sa.Integer),
                  sa.Column('role', sa.String))
user_t = sa.Table('user_account', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String), sa.Column('company_id', sa.Integer),
                  sa.Column('active', sa.Boolean))
attachment_t = sa.Table('attachment', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('report_id', sa.Integer),
                        sa.Column('filename', sa.String), sa.Column('withdrawn_at', sa.DateTime))
action_t = sa.Table(
    'action', meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('report_id', sa.Integer), sa.Column('kind', sa.String),
    sa.Column('ref', sa.String), sa.Column('title', sa.String), sa.Column('description', sa.Text), sa.Column('owner_id', sa.Integer),
    sa.Column('due_date', sa.Date), sa.Column('cause', sa.String), sa.Column('cause_ref', sa.String), sa.Column('causes', JSONT),
    sa.Column('location', sa.String), sa.Column('introduced_on', sa.Date), sa.Column('effective_from', sa.Date),
    sa.Column('effective_pct', sa.Integer), sa.Column('pre_verification', sa.Text), sa.Column('error_proofing', sa.Text),
    sa.Column('implemented_on', sa.Date), sa.Column('implemented_at', sa.DateTime), sa.Column('evidence', JSONT),
    sa.Column('pre_verification_evidence', JSONT), sa.Column('implementation_evidence', JSONT), sa.Column('status', sa.String),
    sa.Column('verification', sa.Text), sa.Column('removed_at', sa.DateTime), sa.Column('removed_by_id', sa.Integer),
    sa.Column('version', sa.Integer), sa.Column('created_at', sa.DateTime), sa.Column('created_by_id', sa.Integer), sa.Column('updated_at', sa.DateTime),
)
MOVED = {'D3': ('containment',), 'D5': ('pcas',), 'D6': ('implementation', 'ica_removal')}
STATUSES = ('open', 'in_progress', 'implemented', 'verified')
PCA_KIND = {'occurrence': 'occurrence', 'detection': 'non_detection', 'systemic': 'systemic'}
PREFIX = {'containment': 'ICA', 'corrective': 'PCA', 'preventive': 'PA'}


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _text(value) -> str:
    return '' if value is None else str(value).strip()


def _pct(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return max(0, min(100, int(round(value))))


class _Migration:
    def __init__(self, conn):
        self.conn = conn
        self.now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # when the migration ran (the machine's clock, as Alembic's)

    def run(self) -> None:
        c = self.conn
        c.execute(report_t.update().where(report_t.c.status == 'closed').values(outcome='resolved'))
        c.execute(sa.text("UPDATE review SET kind = 'stage' WHERE kind IS NULL"))
        for row in c.execute(sa.select(action_t.c.id, action_t.c.cause_ref).where(action_t.c.cause_ref.is_not(None))).all():
            c.execute(action_t.update().where(action_t.c.id == row.id).values(causes=[row.cause_ref]))
        reports = c.execute(sa.select(report_t)).all()
        numbers = {(r.number, r.oem_id, r.supplier_id): r.id for r in reports}
        for r in reports:
            self.report(r, numbers)
        self.number_tracked_actions()

    # -- one report ---------------------------------------------------------------------------
    def report(self, r, numbers) -> None:
        c = self.conn
        self.r = r
        if r.related_report and r.related_report_id is None:
            other = numbers.get((r.related_report.strip(), r.oem_id, r.supplier_id))
            if other and other != r.id:
                c.execute(report_t.update().where(report_t.c.id == r.id).values(related_report_id=other))
        entries = {e.code: e for e in c.execute(sa.select(discipline_t).where(discipline_t.c.report_id == r.id)).all()}
        team = c.execute(sa.select(team_t.c.user_id, team_t.c.role, user_t.c.name, user_t.c.active)
                         .join(user_t, user_t.c.id == team_t.c.user_id).where(team_t.c.report_id == r.id).order_by(team_t.c.id)).all()
        self.team = [m for m in team if m.role != 'viewer']
        self.files = [(a.id, a.filename) for a in c.execute(sa.select(attachment_t).where(attachment_t.c.report_id == r.id, attachment_t.c.withdrawn_at.is_(None))).all()]
        self.refs = {k: set(v for (v,) in c.execute(sa.select(action_t.c.ref).where(action_t.c.report_id == r.id, action_t.c.kind == k)).all() if v)
                     for k in PREFIX}
        values = {code: dict(e.values or {}) for code, e in entries.items()}
        changed = set()
        containment = {}
        corrective = {}
        d3, d5, d6, d4 = (values.get(code, {}) for code in ('D3', 'D5', 'D6', 'D4'))
        for i, row in enumerate(d3.get('containment') or [], start=1):
            containment.setdefault(_text(row.get('ref')), self.containment(row, i, entries.get('D3')))
        for i, row in enumerate(d5.get('pcas') or [], start=1):
            corrective.setdefault(_text(row.get('ref')), self.pca(row, i, entries.get('D5')))
        for i, row in enumerate(d6.get('implementation') or [], start=1):
            self.implementation(row, i, corrective, entries.get('D6'))
        for i, row in enumerate(d6.get('ica_removal') or [], start=1):
            self.removal(row, i, containment, entries.get('D6'))
        for code, names in MOVED.items():
            if any(n in values.get(code, {}) for n in names):
                changed.add(code)
        if self.causes_evidence(d4):
            changed.add('D4')
        for code in sorted(changed):
            self.new_version(entries[code], values[code], MOVED.get(code, ()))

    def owner(self, named: str) -> tuple[int, bool]:
        """The team member the free text names (longest matching name), else the leader, the
        champion, the report's creator. Second: whether the text named that person."""
        text = named.lower()
        hits = sorted((m for m in self.team if m.name and m.name.lower() in text), key=lambda m: -len(m.name))
        if hits:
            return hits[0].user_id, True
        for role in ('leader', 'champion', 'member'):
            m = next((m for m in self.team if m.role == role and m.active), None) or next((m for m in self.team if m.role == role), None)
            if m:
                return m.user_id, False
        if self.r.created_by_id:
            return self.r.created_by_id, False
        user = self.conn.execute(sa.select(user_t.c.id).where(user_t.c.company_id == self.r.supplier_id).order_by(user_t.c.id).limit(1)).scalar()
        return user or self.conn.execute(sa.select(sa.func.min(user_t.c.id))).scalar(), False

    def name_of(self, user_id: int) -> str:
        return next((m.name for m in self.team if m.user_id == user_id), '') or ''

    def person(self, named: str) -> int | None:
        text = named.lower()
        hits = sorted((m for m in self.team if m.name and m.name.lower() in text), key=lambda m: -len(m.name))
        return hits[0].user_id if hits else None

    def matched_files(self, text: str) -> list[int]:
        tokens = {t.strip().lower() for t in re.split(r'[,;\n]+', text) if t.strip()}
        return [fid for fid, name in self.files if (name or '').lower() in tokens or (name or '').lower() == text.strip().lower()]

    def ref(self, kind: str, wanted: str) -> str:
        taken = self.refs[kind]
        base = re.sub(r'[^A-Za-z0-9._-]', '', wanted)[:16]
        if base and not base[0].isalpha():
            base = f'{PREFIX[kind]}{base}'[:16]
        candidate = base or None
        n = 2
        while candidate is None or candidate in taken:
            if base:
                candidate = f'{base}-{n}'
                n += 1
            else:
                k = 1
                while f'{PREFIX[kind]}{k}' in taken:
                    k += 1
                candidate = f'{PREFIX[kind]}{k}'
        taken.add(candidate)
        return candidate

    def title(self, raw, fallback: str, notes: list[str]) -> str:
        text = _text(raw) or fallback
        if len(text) <= 500:
            return text
        notes.append(f'Full text: {raw}')  # as written
        return text[:499] + '…'

    def insert(self, entry, **values) -> int:
        at = (entry.updated_at if entry is not None and entry.updated_at else None) or self.r.created_at or self.now
        by = (entry.updated_by_id if entry is not None else None) or self.r.created_by_id
        row = {'version': 1, 'created_at': at, 'updated_at': at, 'created_by_id': by, 'causes': [], 'evidence': [],
               'pre_verification_evidence': [], 'implementation_evidence': [], **values}
        return self.conn.execute(action_t.insert().values(**row).returning(action_t.c.id)).scalar_one()

    def status(self, value, notes: list[str], table: str) -> str:
        value = _text(value)
        if value == 'verified':
            notes.append(f'Marked "verified" in the former {table} table; who verified it was not recorded. '
                         'A verification needs someone other than the owner: verify it again.')
            return 'implemented'
        return value if value in STATUSES else 'open'

    def extra(self, row: dict, known: set[str], notes: list[str]) -> None:
        for key, value in row.items():
            if key not in known and key != 'id' and value not in (None, '', []):
                notes.append(f'{key}: {value}')

    # -- D3 containment rows --------------------------------------------------------------------
    def containment(self, row: dict, i: int, entry) -> dict:
        notes = [NOTE.format(table='D3 containment', ref=f" (row {i}{', ' + _text(row.get('ref')) if row.get('ref') else ''})")]
        owner_text = _text(row.get('owner'))
        owner, _named = self.owner(owner_text)
        if owner_text and owner_text.lower() != self.name_of(owner).lower():
            notes.append(f'Owner named in the table: {owner_text}')
        introduced, effective = _date(row.get('introduced_on')), _date(row.get('effective_from'))
        for key, parsed in (('introduced_on', introduced), ('effective_from', effective)):
            if row.get(key) and parsed is None:
                notes.append(f'{key} (as written): {row[key]}')
        evidence_text = _text(row.get('evidence'))
        if evidence_text:
            notes.append(f'Evidence named in the table: {evidence_text}')
        status = self.status(row.get('status'), notes, 'D3 containment')
        self.extra(row, {'ref', 'location', 'action', 'owner', 'introduced_on', 'effective_from', 'verification', 'effective_pct', 'status', 'evidence'}, notes)
        title = self.title(row.get('action'), f'Containment {i}', notes)
        due = effective or introduced or self.r.detected_on or (self.r.created_at or self.now).date()
        action_id = self.insert(
            entry, report_id=self.r.id, kind='containment', ref=self.ref('containment', _text(row.get('ref'))), title=title,
            description='\n'.join(notes), owner_id=owner, due_date=due, location=_text(row.get('location')) or None,
            introduced_on=introduced, effective_from=effective, effective_pct=_pct(row.get('effective_pct')),
            verification=_text(row.get('verification')) or None, status=status, evidence=self.matched_files(evidence_text) if evidence_text else [],
            implemented_at=None,
        )
        return {'id': action_id, 'notes': notes}

    # -- D5 PCA rows ---------------------------------------------------------------------------
    def pca(self, row: dict, i: int, entry) -> dict:
        notes = [NOTE.format(table='D5 permanent corrective action', ref=f" (row {i}{', ' + _text(row.get('ref')) if row.get('ref') else ''})")]
        owner_text = _text(row.get('owner'))
        owner, _named = self.owner(owner_text)
        if owner_text and owner_text.lower() != self.name_of(owner).lower():
            notes.append(f'Owner named in the table: {owner_text}')
        target = _date(row.get('target_date'))
        if row.get('target_date') and target is None:
            notes.append(f"target_date (as written): {row['target_date']}")
        evidence_text = _text(row.get('evidence'))
        if evidence_text:
            notes.append(f'Evidence named in the table: {evidence_text}')
        causes = [r for r in re.split(r'[,;\s]+', _text(row.get('causes'))) if r]
        status = self.status(row.get('status'), notes, 'D5 PCA')
        self.extra(row, {'ref', 'causes', 'kind', 'action', 'owner', 'target_date', 'pre_verification', 'error_proofing', 'status', 'evidence'}, notes)
        title = self.title(row.get('action'), f'Corrective action {i}', notes)
        action_id = self.insert(
            entry, report_id=self.r.id, kind='corrective', ref=self.ref('corrective', _text(row.get('ref'))), title=title,
            description='\n'.join(notes), owner_id=owner, due_date=target or self.r.detected_on or (self.r.created_at or self.now).date(),
            cause=PCA_KIND.get(_text(row.get('kind'))), causes=causes, pre_verification=_text(row.get('pre_verification')) or None,
            error_proofing=_text(row.get('error_proofing')) or None, status=status,
            pre_verification_evidence=self.matched_files(evidence_text) if evidence_text else [],
        )
        return {'id': action_id, 'notes': notes}

    # -- D6 rows onto those actions --------------------------------------------------------------
    def implementation(self, row: dict, i: int, corrective: dict, entry) -> None:
        ref = _text(row.get('pca'))
        day = _date(row.get('implemented_on'))
        evidence_text = _text(row.get('evidence'))
        note = (f"D6 implementation row {i}: implemented on {row.get('implemented_on') or '?'}"
                + (f', evidence: {evidence_text}' if evidence_text else '') + '.')
        files = self.matched_files(evidence_text) if evidence_text else []
        extra: list[str] = []
        self.extra(row, {'pca', 'implemented_on', 'evidence'}, extra)
        note += ''.join(f'\n{e}' for e in extra)
        target = corrective.get(ref)
        if target is None:
            notes = [NOTE.format(table='D6 implementation', ref=f' (row {i}; no PCA {ref or "?"} in D5)'), note]
            owner, _named = self.owner('')
            self.insert(entry, report_id=self.r.id, kind='corrective', ref=self.ref('corrective', ref), title=f'PCA {ref or i} (recorded only in D6)',
                        description='\n'.join(notes), owner_id=owner, due_date=day or self.r.detected_on or (self.r.created_at or self.now).date(),
                        implemented_on=day, implemented_at=dt.datetime.combine(day, dt.time()) if day else None,
                        status='implemented' if day else 'open', implementation_evidence=files)
            return
        current = self.conn.execute(sa.select(action_t).where(action_t.c.id == target['id'])).one()
        target['notes'].append(note)
        values = {'description': '\n'.join(target['notes']), 'implementation_evidence': list(dict.fromkeys([*(current.implementation_evidence or []), *files]))}
        if day:
            values.update(implemented_on=day, implemented_at=dt.datetime.combine(day, dt.time()))
            if current.status in ('open', 'in_progress'):
                values['status'] = 'implemented'
        self.conn.execute(action_t.update().where(action_t.c.id == target['id']).values(**values))

    def removal(self, row: dict, i: int, containment: dict, entry) -> None:
        ref = _text(row.get('ica'))
        day = _date(row.get('removed_on'))
        by_text = _text(row.get('removed_by'))
        note = f"D6 containment removal row {i}: removed on {row.get('removed_on') or '?'} by {by_text or '?'}."
        extra: list[str] = []
        self.extra(row, {'ica', 'removed_on', 'removed_by'}, extra)
        note += ''.join(f'\n{e}' for e in extra)
        removed = {'removed_at': dt.datetime.combine(day, dt.time()) if day else None, 'removed_by_id': self.person(by_text) if by_text else None}
        target = containment.get(ref)
        if target is None:
            notes = [NOTE.format(table='D6 containment removal', ref=f' (row {i}; no containment {ref or "?"} in D3)'), note]
            owner, _named = self.owner(by_text)
            self.insert(entry, report_id=self.r.id, kind='containment', ref=self.ref('containment', ref), title=f'Containment {ref or i} (recorded only in D6)',
                        description='\n'.join(notes), owner_id=owner, due_date=day or self.r.detected_on or (self.r.created_at or self.now).date(),
                        status='open', **removed)
            return
        target['notes'].append(note)
        self.conn.execute(action_t.update().where(action_t.c.id == target['id']).values(description='\n'.join(target['notes']), **removed))

    # -- D4 evidence: text -> files -----------------------------------------------------------
    def causes_evidence(self, d4: dict) -> bool:
        changed = False
        for row in d4.get('causes') or []:
            value = row.get('evidence')
            if isinstance(value, str):
                files = self.matched_files(value) if value.strip() else []
                if value.strip():
                    result = _text(row.get('verification_result'))
                    row['verification_result'] = (result + '\n' if result else '') + f'[Evidence named before files were required: {value.strip()}]'
                if files:
                    row['evidence'] = files
                else:
                    row.pop('evidence', None)
                changed = True
        return changed

    def new_version(self, entry, values: dict, moved: tuple[str, ...]) -> None:
        for name in moved:
            values.pop(name, None)
        versions = {k: v for k, v in (entry.field_versions or {}).items() if k not in moved}
        version = (entry.version or 0) + 1
        if entry.code == 'D4':
            versions['causes'] = version
        self.conn.execute(discipline_t.update().where(discipline_t.c.id == entry.id).values(
            values=values, field_versions=versions, version=version, updated_at=self.now))
        self.conn.execute(revision_t.insert().values(report_id=entry.report_id, code=entry.code, version=version, values=values,
                                                     created_at=self.now, created_by_id=None))

    def number_tracked_actions(self) -> None:
        """Actions tracked before (without a reference) get the next free one of their kind."""
        c = self.conn
        rows = c.execute(sa.select(action_t.c.id, action_t.c.report_id, action_t.c.kind)
                         .where(sa.or_(action_t.c.ref.is_(None), action_t.c.ref == '')).order_by(action_t.c.id)).all()
        taken: dict[tuple[int, str], set[str]] = {}
        for row in rows:
            key = (row.report_id, row.kind)
            if key not in taken:
                taken[key] = {v for (v,) in c.execute(sa.select(action_t.c.ref).where(action_t.c.report_id == row.report_id, action_t.c.kind == row.kind)).all() if v}
            n = 1
            while f'{PREFIX[row.kind]}{n}' in taken[key]:
                n += 1
            ref = f'{PREFIX[row.kind]}{n}'
            taken[key].add(ref)
            c.execute(action_t.update().where(action_t.c.id == row.id).values(ref=ref))
