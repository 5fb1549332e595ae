"""Keystone's [security_compliance] and user options: per-user lockout, password expiry,
history, minimum age, regex, change upon first use, disabling inactive users.

Two guards against password guessing, each doing its own job:

- :mod:`stratus.identity.throttle` (``auth_max_failures``, always on) counts failures
  per user *and source address* in the process's memory: a guesser is slowed down, but
  cannot lock the user out of the cloud from elsewhere.
- The lockout here (``lockout_failure_attempts``, off by default, Keystone's) counts
  failures per *user* in the database, across sources and controllers and restarts:
  after N failures the account answers "The account is locked for user: …" for
  ``lockout_duration`` seconds, even to the right password. Users with the option
  ``ignore_lockout_failure_attempts`` (service accounts) are never locked.

A failure is counted by both; a throttled pair is refused before the password is
checked (and before the lockout is read), so throttled guesses do not add to the
lockout count. Failures and resets are written in a transaction of their own (the
request's is rolled back by the 401 that follows).

Options are stored by name in ``identity_user_security.options``; a value ``None``
removes an option (as Keystone does).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity import User
from stratus.db.models.identity_security import PasswordHistory, UserSecurity
from stratus.errors import BadRequest, Unauthorized
from stratus.identity.passwords import check_password, hash_password

BOOL_OPTIONS = (
    "ignore_change_password_upon_first_use",
    "ignore_password_expiry",
    "ignore_lockout_failure_attempts",
    "lock_password",
    "ignore_user_inactivity",
    "multi_factor_auth_enabled",
)
MFA_RULES = "multi_factor_auth_rules"
OPTIONS = (*BOOL_OPTIONS, MFA_RULES)

MFA_RULES_INVALID = (
    "Invalid data type, must be a list of lists comprised of strings. "
    "Sub-lists may not be duplicated. Strings in sub-lists may not be duplicated."
)


# --- errors, worded as Keystone's -----------------------------------------------------
def account_locked(user_id: str) -> Unauthorized:
    return Unauthorized(f"The account is locked for user: {user_id}.")


def account_disabled(user_id: str) -> Unauthorized:
    return Unauthorized(f"The account is disabled for user: {user_id}.")


def password_expired(user_id: str) -> Unauthorized:
    return Unauthorized(f"The password is expired and needs to be changed for user: {user_id}.")


# --- options ----------------------------------------------------------------------------
def _valid_mfa_rules(value) -> bool:
    if not isinstance(value, list):
        return False
    seen: list = []
    for sub in value:
        if not isinstance(sub, list) or not sub or sub in seen:
            return False
        if not all(isinstance(s, str) for s in sub) or len(set(sub)) != len(sub):
            return False
        seen.append(sub)
    return True


def validate_options(value: Any) -> dict[str, Any]:
    """The ``options`` of a user create/update body, checked as Keystone's schema does."""
    if not isinstance(value, dict):
        raise BadRequest("Invalid input for field 'options': expecting an object.")
    for name, v in value.items():
        if name not in OPTIONS:
            raise BadRequest(
                f"Invalid input for field 'options': Additional properties are not allowed "
                f"('{name}' was unexpected). The user options are: {', '.join(OPTIONS)}."
            )
        if v is None:
            continue
        if name == MFA_RULES:
            if not _valid_mfa_rules(v):
                raise BadRequest(f"Invalid input for field 'options.{name}': {MFA_RULES_INVALID}")
        elif not isinstance(v, bool):
            raise BadRequest(f"Invalid input for field 'options.{name}': expecting a boolean.")
    return value


def state(db: Session, user_id: str, *, create: bool = False) -> UserSecurity | None:
    st = db.get(UserSecurity, user_id)
    if st is None and create:
        st = UserSecurity(
            user_id=user_id, options={}, failed_auth_count=0, password_self_service=False
        )
        db.add(st)
    return st


def options_of(db: Session, user_id: str) -> dict[str, Any]:
    st = state(db, user_id)
    return dict(st.options) if st is not None else {}


def set_options(db: Session, user: User, options: dict[str, Any]) -> None:
    st = state(db, user.id, create=True)
    merged = dict(st.options or {})
    for name, v in validate_options(options).items():
        if v is None:
            merged.pop(name, None)
        else:
            merged[name] = v
    st.options = merged


# --- passwords --------------------------------------------------------------------------
def check_password_rules(settings, password: str) -> None:
    """The configured ``password_regex`` (a 400 with its description when not matched)."""
    if not settings.password_regex:
        return
    try:
        matched = re.match(settings.password_regex, password)
    except re.error:
        raise BadRequest(
            "Password validation error: Unable to validate password due to invalid "
            "configuration."
        ) from None
    if not matched:
        raise BadRequest(
            "The password does not match the requirements: "
            f"{settings.password_regex_description}."
        )


def _expires_at(settings, options: dict, now: datetime, self_service: bool) -> datetime | None:
    if (
        not self_service
        and settings.change_password_upon_first_use
        and not options.get("ignore_change_password_upon_first_use")
    ):
        return now  # an administrator set it: the user changes it at first use
    if settings.password_expires_days and not options.get("ignore_password_expiry"):
        return (now + timedelta(days=settings.password_expires_days)).replace(microsecond=0)
    return None


def _newest_first(user_id: str):
    return (
        select(PasswordHistory).filter_by(user_id=user_id).order_by(PasswordHistory.id.desc())
    )


def set_password(
    db: Session, settings, user: User, password: str, *, self_service: bool = False
) -> None:
    """Store a new password (already checked), record it in the history and set when it
    expires. ``self_service``: the user changed it themselves."""
    now = datetime.now(UTC)
    st = state(db, user.id, create=True)
    user.password_hash = hash_password(password, settings.bcrypt_rounds)
    user.password_expires_at = _expires_at(settings, st.options or {}, now, self_service)
    st.password_created_at = now
    st.password_self_service = self_service
    db.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=now))
    db.flush()
    for old in db.scalars(_newest_first(user.id).offset(max(settings.unique_last_password_count, 1))):
        db.delete(old)


def check_self_service_change(db: Session, settings, user: User, new_password: str) -> None:
    """What Keystone checks before a user changes their own password (after the
    original password): regex, ``lock_password``, minimum age, history."""
    check_password_rules(settings, new_password)
    st = state(db, user.id)
    options = st.options if st is not None else {}
    if options.get("lock_password"):
        raise BadRequest(
            "You cannot change your password at this time due to password policy "
            "disallowing password changes. Please contact your administrator to reset "
            "your password."
        )
    min_days = settings.minimum_password_age
    if min_days and st is not None and st.password_self_service and st.password_created_at:
        allowed = st.password_created_at + timedelta(days=min_days)
        now = datetime.now(UTC)
        if now < allowed:
            raise BadRequest(
                "You cannot change your password at this time due to the minimum password "
                f"age. Once you change your password, it must be used for {min_days} day(s) "
                f"before it can be changed. Please try again in {(allowed - now).days} "
                "day(s) or contact your administrator to reset your password."
            )
    count = settings.unique_last_password_count
    if count:
        hashes = [h.password_hash for h in db.scalars(_newest_first(user.id).limit(count))]
        if not hashes and user.password_hash:
            hashes = [user.password_hash]  # set before the history was kept
        if any(check_password(new_password, h) for h in hashes):
            raise BadRequest(
                "The new password cannot be identical to a previous password. The total "
                f"number which includes the new password must be unique is {count}."
            )


# --- activity and lockout -----------------------------------------------------------------
def inactive(settings, user: User, st: UserSecurity | None) -> bool:
    """Disabled for ``disable_user_account_days_inactive`` days without a login."""
    days = settings.disable_user_account_days_inactive
    if not days or (st is not None and (st.options or {}).get("ignore_user_inactivity")):
        return False
    last = (st.last_active_at if st is not None else None) or user.created_at
    if last is None:
        return False
    return (datetime.now(UTC).date() - last.date()).days >= days


def view_fields(db: Session, settings, user: User) -> dict[str, Any]:
    """``enabled`` and ``options`` of the user as Keystone shows them (an inactive user
    shows as disabled)."""
    st = state(db, user.id)
    return {
        "enabled": user.enabled and not inactive(settings, user, st),
        "options": dict(st.options) if st is not None else {},
    }


def _locked(settings, st: UserSecurity | None) -> bool:
    attempts = settings.lockout_failure_attempts
    if not attempts or st is None or (st.options or {}).get("ignore_lockout_failure_attempts"):
        return False
    if (st.failed_auth_count or 0) < attempts or st.failed_auth_at is None:
        return False
    return st.failed_auth_at + timedelta(seconds=settings.lockout_duration) > datetime.now(UTC)


def _write_apart(db: Session, user_id: str, **values) -> None:
    """Write the user's security state in a transaction of its own (committed even
    when the request's is rolled back)."""
    with Session(bind=db.get_bind(), expire_on_commit=False) as s:
        st = state(s, user_id, create=True)
        if values.pop("failed", False):
            values["failed_auth_count"] = (st.failed_auth_count or 0) + 1
            values["failed_auth_at"] = datetime.now(UTC)
        for k, v in values.items():
            setattr(st, k, v)
        s.commit()


def check_password_login(
    db: Session, settings, user: User, password_ok: bool, *, allow_expired: bool = False
) -> None:
    """Keystone's order for a password login of an existing user: locked, wrong
    password (counted), disabled (an inactive user too), expired password (allowed to
    a user changing it: ``allow_expired``)."""
    st = state(db, user.id)
    if _locked(settings, st):
        raise account_locked(user.id)
    if not password_ok:
        if settings.lockout_failure_attempts:
            _write_apart(db, user.id, failed=True)
        raise Unauthorized("The request you have made requires authentication.")
    if inactive(settings, user, st):
        raise account_disabled(user.id)
    expired = user.password_expires_at is not None and user.password_expires_at <= datetime.now(UTC)
    if expired and not allow_expired and not (st is not None and (st.options or {}).get("ignore_password_expiry")):
        raise password_expired(user.id)


def record_login(db: Session, settings, user: User) -> None:
    """A successful login: clear the failure count, note the day of activity."""
    st = state(db, user.id)
    today = datetime.now(UTC)
    values: dict[str, Any] = {}
    if st is not None and st.failed_auth_count:
        values.update(failed_auth_count=0, failed_auth_at=None)
    last = st.last_active_at if st is not None else None
    if last is None or last.date() != today.date():
        values["last_active_at"] = today
    if values:
        _write_apart(db, user.id, **values)


def on_enable(db: Session, user: User) -> None:
    """An administrator (re-)enabled the user: unlocked, active from now (Keystone)."""
    st = state(db, user.id, create=True)
    st.failed_auth_count = 0
    st.failed_auth_at = None
    st.last_active_at = datetime.now(UTC)
