"""8D Workbench: one shared 8D report for a customer (OEM) and its supplier."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None, **overrides) -> Flask:
    """Build the app. `config` is a config object (default: from APP_CONFIG); `overrides` win."""
    from config import config_from_env

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(overrides.get("INSTANCE_PATH") or (config or config_from_env()).INSTANCE_PATH),
        instance_relative_config=False,
    )
    app.config.from_object(config or config_from_env())
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("AUDIT_KEY"):  # production refuses to start without one (config.py)
        from config import instance_key

        app.config["AUDIT_KEY"] = instance_key(Path(app.instance_path), "audit_key")
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 1024 * 1024
    from app.models.base import set_clock_offset

    set_clock_offset(app.config.get("CLOCK_OFFSET_DAYS", 0))
    register_proxy(app)
    register_extensions(app)
    register_database(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    logging.basicConfig(level=logging.INFO)
    from app import security_log

    security_log.configure(app)
    return app


def register_proxy(app: Flask) -> None:
    """Behind nginx (PROXY_COUNT=1) the client's address comes from X-Forwarded-For: otherwise
    every user would share the proxy's address, and with it one login rate limit."""
    hops = int(app.config.get("PROXY_COUNT") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.i18n import refresh_locale, select_locale
    from app.web.auth.loading import configure_login

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    # Each request picks its language afresh, even when it shares an application context (tests).
    app.before_request(refresh_locale)
    login_manager.init_app(app)
    configure_login(login_manager)


def register_database(app: Flask) -> None:
    from app.db import configure_engine, end_session
    from app.extensions import db
    from app.models import changes

    with app.app_context():
        configure_engine(db.engine)
    changes.install()  # derived state's one owner: change counters move with every flush
    app.teardown_appcontext(end_session)  # runs before Flask-SQLAlchemy's own (registered earlier)


def register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.extensions import csrf
    from app.web.actions import bp as actions_bp
    from app.web.admin import bp as admin_bp
    from app.web.auth import bp as auth_bp
    from app.web.health import bp as health_bp
    from app.web.kpis import bp as kpis_bp
    from app.web.learning import bp as learning_bp
    from app.web.reports import bp as reports_bp

    csrf.exempt(api_bp)  # the API checks CSRF itself for cookie sessions (see app/api/auth.py)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(kpis_bp)
    app.register_blueprint(learning_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.web.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from app.web.security import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.web.helpers import register

    register(app)


def register_commands(app: Flask) -> None:
    from app import notify
    from app.cli import register
    from app.services import notifications

    register(app)
    notify.register(app)  # flask worker
    notifications.install()
