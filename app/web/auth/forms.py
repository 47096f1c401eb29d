from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
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


class InvitationAcceptForm(FlaskForm):
    name = StringField(_l("Your name (as your colleagues see it)"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Choose a password (at least 12 characters)"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("The same again"), validators=[DataRequired(), Length(max=256)])
