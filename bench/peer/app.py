"""A stand-in for the open peer, OpenQMS (FastAPI + PostgreSQL), serving its 8D record the way its
`GET /api/capa/{report_id}` does (backend/app/api/capa.py, core/deps.py, database.py of
github.com/Open-Industry-System/OpenQMS, read 2026-12): an async SQLAlchemy session on asyncpg
whose tenant `search_path` is set and reset around the request, the JWT's user loaded, the request
scope resolved (factory ids, group permission, product lines), the CAPA module permission checked,
the one-row 8D record (`capa_eightd`: D1 team as JSONB, D2-D8 as text) read and validated into a
pydantic response model. The bench (bench/readpath.py) fills the record with the same content as
the 8D Workbench report it measures, so that both answer a document of comparable size.

Not the peer itself (it cannot be installed here without its repository): the same request path,
written plainly. Run: uvicorn bench.peer.app:app --workers 2 (PEER_DATABASE_URL, PEER_JWT_SECRET).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ.get("PEER_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/peer")
SECRET = os.environ.get("PEER_JWT_SECRET", "peer-secret-for-the-bench-only-0123456789")
SCHEMA = "tenant_volta"

engine = create_async_engine(DATABASE_URL, pool_size=10)
sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(default=True)


class UserFactory(Base):
    __tablename__ = "user_factories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.user_id"), index=True)
    factory_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class ModulePermission(Base):
    __tablename__ = "module_permissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(20), index=True)
    module: Mapped[str] = mapped_column(String(30))
    level: Mapped[int] = mapped_column(Integer)


class UserProductLine(Base):
    __tablename__ = "user_product_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.user_id"), index=True)
    product_line_code: Mapped[str] = mapped_column(String(20))


class CAPAEightD(Base):
    __tablename__ = "capa_eightd"
    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    document_no: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    product_line_code: Mapped[str] = mapped_column(String(20))
    factory_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    d1_team: Mapped[list] = mapped_column(JSONB)
    d2_description: Mapped[str | None] = mapped_column(Text)
    d3_interim: Mapped[str | None] = mapped_column(Text)
    d4_root_cause: Mapped[str | None] = mapped_column(Text)
    d5_correction: Mapped[str | None] = mapped_column(Text)
    d6_verification: Mapped[str | None] = mapped_column(Text)
    d7_prevention: Mapped[str | None] = mapped_column(Text)
    d8_closure: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CAPAResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    report_id: uuid.UUID
    document_no: str
    title: str
    product_line_code: str
    factory_id: uuid.UUID
    status: str
    severity: str
    d1_team: list
    d2_description: str | None
    d3_interim: str | None
    d4_root_cause: str | None
    d5_correction: str | None
    d6_verification: str | None
    d7_prevention: str | None
    d8_closure: str | None
    due_date: dt.date | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


app = FastAPI()


async def get_db(request: Request):
    async with sessions() as session:
        await session.execute(text(f'SET search_path TO "{SCHEMA}", public'))
        try:
            yield session
        finally:
            if session.in_transaction():
                await session.rollback()
            await session.execute(text("RESET search_path"))
            await session.close()


async def get_current_user(request: Request, db: AsyncSession = Depends(get_db)) -> User:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise HTTPException(status_code=401, detail="Not authenticated")
    try:
        payload = jwt.decode(header[7:], SECRET, algorithms=["HS256"], audience="tenant")
    except jwt.PyJWTError:
        raise HTTPException(status_code=401, detail="Invalid or expired token") from None
    user = (await db.execute(select(User).where(User.user_id == uuid.UUID(payload["sub"])))).scalar_one_or_none()
    if user is None or not user.is_active:
        raise HTTPException(status_code=401, detail="Inactive user")
    return user


async def permission(user: User, module: str, db: AsyncSession) -> int:
    return (await db.execute(select(ModulePermission.level).where(ModulePermission.role == user.role, ModulePermission.module == module))).scalar() or 0


async def get_request_scope(user: User = Depends(get_current_user), db: AsyncSession = Depends(get_db)) -> dict:
    factories = (await db.execute(select(UserFactory.factory_id).where(UserFactory.user_id == user.user_id))).scalars().all()
    group_level = await permission(user, "group", db)
    lines = (await db.execute(select(UserProductLine.product_line_code).where(UserProductLine.user_id == user.user_id))).scalars().all()
    return {"user": user, "factories": set(factories), "group_admin": group_level >= 4, "product_lines": set(lines)}


@app.get("/api/capa/{report_id}", response_model=CAPAResponse)
async def get_capa(report_id: uuid.UUID, db: AsyncSession = Depends(get_db), scope: dict = Depends(get_request_scope)):
    if await permission(scope["user"], "capa", db) < 1:
        raise HTTPException(status_code=403, detail="CAPA VIEW permission required")
    capa = (await db.execute(select(CAPAEightD).where(CAPAEightD.report_id == report_id))).scalar_one_or_none()
    if capa is None:
        raise HTTPException(status_code=404, detail="8D report not found")
    if not scope["group_admin"] and capa.factory_id not in scope["factories"]:
        raise HTTPException(status_code=403, detail="No access to this factory")
    return CAPAResponse.model_validate(capa)
