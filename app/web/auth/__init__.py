from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.web.auth import invitations, routes  # noqa: E402,F401
