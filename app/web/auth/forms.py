from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class LanguageForm(FlaskForm):
    # Each language is named in itself, so a reader finds theirs whatever the page's language.
    language = SelectField(
        _l("Language"),
        choices=[("", _l("As my browser asks")), ("en", "English"), ("de", "Deutsch"), ("zh", "中文")],
    )
