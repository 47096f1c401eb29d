"""Comments per discipline: Markdown rendered safely, @mentions of team members, edit within
15 minutes, delete as withdraw (the audit trail keeps the text)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import nh3
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from sqlalchemy import select

from app import method, notify, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid
from app.extensions import db
from app.models import Comment, Report, User, utcnow
from app.services import audit
from app.services.reports import get_visible_child

MAX_BODY = 10_000
EDIT_WINDOW = dt.timedelta(minutes=15)
MENTION = re.compile(r"(?<![\w.])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable("strikethrough")
ALLOWED_TAGS = {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
                "table", "thead", "tbody", "tr", "th", "td", "hr"}


def render_markdown(body: str) -> str:
    """Markdown -> HTML with raw HTML disabled, then sanitised by nh3 (links: http, https, mailto)."""
    html = _md.render(body)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _body(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(_("'body' must be a string."), {"fields": {"body": "must be a string"}})
    value = value.replace("\r\n", "\n").strip()
    if not value:
        raise Invalid(_("Write something first."), fields={"body": "is required"})
    if len(value) > MAX_BODY or "\x00" in value:
        raise Invalid(_("The comment is too long."), fields={"body": f"is too long (at most {MAX_BODY} characters)"})
    return value


def mentioned_users(report: Report, body: str) -> list[User]:
    emails = {m.lower() for m in MENTION.findall(body)}
    return [m.user for m in report.team if m.user.email in emails and policy.can_view(m.user, report)]


def add_comment(actor: User, report: Report, discipline: Any, body: Any) -> tuple[Comment, list[User]]:
    if not policy.can_comment(actor, report):
        raise Forbidden(_("Only members of the report's team can comment."))
    if not isinstance(discipline, str):
        raise BadRequest(_('\'discipline\' must be a string such as "D4".'), {"fields": {"discipline": "must be a string"}})
    if discipline not in method.CODES:
        raise Invalid(_("Unknown discipline."), fields={"discipline": "must be one of D0-D8"})
    body = _body(body)
    comment = Comment(report_id=report.id, discipline=discipline, author_id=actor.id, body=body, body_html=render_markdown(body))
    comment.author = actor
    db.session.add(comment)
    db.session.flush()
    mentions = [u for u in mentioned_users(report, body) if u.id != actor.id]
    audit.record("comment.added", actor, report, discipline=discipline,
                 changes={"comment_id": [None, comment.id], "body": [None, body],
                          **({"mentions": [None, [u.email for u in mentions]]} if mentions else {})})
    if mentions:
        notify.mentioned(report, actor, mentions, discipline, body)
    return comment, mentions


def get_comment(user: User, comment_id: Any) -> tuple[Comment, Report]:
    return get_visible_child(user, Comment, comment_id, _("No such comment."))


def edit_comment(actor: User, comment: Comment, report: Report, body: Any) -> tuple[Comment, list[User]]:
    if comment.author_id != actor.id or not policy.can_comment(actor, report):
        raise Forbidden(_("Only the author can edit a comment."))
    if comment.withdrawn_at:
        raise Conflict(_("This comment was withdrawn."))
    if utcnow() - comment.created_at > EDIT_WINDOW:
        raise Conflict(_("Comments can be edited for 15 minutes; write a new comment instead."), {"rule": "edit_window"})
    body = _body(body)
    before = {u.id for u in mentioned_users(report, comment.body)}
    old = comment.body
    comment.body, comment.body_html, comment.edited_at = body, render_markdown(body), utcnow()
    audit.record("comment.edited", actor, report, discipline=comment.discipline, changes={"comment_id": [comment.id, comment.id], "body": [old, body]})
    new_mentions = [u for u in mentioned_users(report, body) if u.id not in before and u.id != actor.id]
    if new_mentions:
        notify.mentioned(report, actor, new_mentions, comment.discipline, body)
    return comment, new_mentions


def withdraw_comment(actor: User, comment: Comment, report: Report) -> None:
    if not policy.can_withdraw_comment(actor, report, comment.author):
        raise Forbidden(_("Only the author or an administrator of the author's company can withdraw a comment."))
    if comment.withdrawn_at:
        return
    comment.withdrawn_at, comment.withdrawn_by_id = utcnow(), actor.id
    audit.record("comment.withdrawn", actor, report, discipline=comment.discipline, changes={"comment_id": [comment.id, comment.id], "withdrawn": [False, True]})


def open_edit_windows(user: User, report_id: int) -> tuple[int, ...]:
    """The user's comments on the report that can still be edited now: a page showing them
    changes when a window closes, so the page's key holds them."""
    since = utcnow() - EDIT_WINDOW
    return tuple(db.session.scalars(select(Comment.id).where(Comment.report_id == report_id, Comment.author_id == user.id,
                                                            Comment.created_at > since, Comment.withdrawn_at.is_(None))
                                    .order_by(Comment.id)))
