from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

ROLE_CHOICES = [
    ("engineer", _l("Engineer")),
    ("quality_lead", _l("Quality lead")),
    ("viewer", _l("Viewer")),
    ("admin", _l("Administrator")),
]


class CompanyForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[("supplier", _l("Supplier")), ("oem", _l("Customer (OEM)"))])


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    company_id = SelectField(_l("Company"), coerce=int, choices=[], validate_choice=False)
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(_l("Initial password (at least 12 characters)"), validators=[DataRequired(), Length(max=256)])


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Active (can sign in)"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password (at least 12 characters)"), validators=[DataRequired(), Length(max=256)])


class WebhookForm(FlaskForm):
    url = StringField(_l("Receiver URL (https://...)"), validators=[DataRequired(), Length(max=500)])
    events = SelectMultipleField(_l("Events"), choices=[
        ("report.stage_changed", _l("Stage changed")),
        ("review.requested", _l("Review requested")),
        ("review.decided", _l("Review decided")),
        ("report.closed", _l("Report closed")),
        ("action.overdue", _l("Action overdue")),
    ], validators=[DataRequired()])
    secret = PasswordField(_l("Shared secret (16-100 characters; leave empty to generate one)"), validators=[Length(max=100)])
    description = StringField(_l("Description"), validators=[Length(max=200)])


class CompanySettingsForm(FlaskForm):
    allow_invitations = SelectField(_l("Invitations by e-mail"), choices=[("1", _l("allowed")), ("0", _l("not allowed"))])


class SupplierLinkForm(FlaskForm):
    customer_id = SelectField(_l("Customer (e.g. a Tier-1)"), coerce=int, choices=[], validate_choice=False)
    supplier_id = SelectField(_l("buys from (its sub-supplier)"), coerce=int, choices=[], validate_choice=False)
