from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class LessonApplyForm(FlaskForm):
    lesson = HiddenField(validators=[DataRequired(), Length(max=30)])
    report_id = SelectField(_l("Report that takes the action"), choices=[], validate_choice=False)
    target = StringField(_l("Product, line or plant it applies to"), validators=[DataRequired(), Length(max=500)])
    due_date = StringField(_l("Due (YYYY-MM-DD)"), validators=[Optional(), Length(max=10)])
