"""The controller's Swift service token: minted in-process for the bootstrapped service
user, validated like any token, cached while fresh, re-minted when forgotten; account
URLs; the refusals name the setting or step to fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import stratus.db.models  # noqa: F401 - registers every table
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.session import Database
from stratus.identity.bootstrap import bootstrap
from stratus.identity.fernet import FernetKeys
from stratus.identity.tokens import TokenProvider
from stratus.object_store import ObjectStoreError, ServiceToken, account_url, auth, service_token

pytestmark = pytest.mark.object_storage


def make_cloud(tmp_path, **over):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/stratus.db", state_dir=str(tmp_path / "state"),
                        fernet_key_repository=str(tmp_path / "keys"), object_store_url="http://127.0.0.1:1",
                        object_store_password="pw", bcrypt_rounds=4, **over)
    db = Database(settings.database_url)
    Base.metadata.create_all(db.engine)
    keys = FernetKeys(settings.fernet_key_repository)
    keys.setup()
    with db.session() as s:
        bootstrap(s, settings, admin_username="admin", admin_password="pw", public_url="http://ctl:1")
    return settings, db, keys


@pytest.fixture
def cloud(tmp_path):
    settings, db, keys = make_cloud(tmp_path)
    yield settings, db, keys
    auth.forget(settings)
    own = auth._databases.pop(settings.database_url, None)
    if own is not None:
        own.dispose()
    db.dispose()


def test_token_is_the_service_users_with_reseller_admin_and_cached(cloud):
    settings, db, keys = cloud
    tok = service_token(settings, database=db, keys=keys)
    with db.session() as s:
        ctx = TokenProvider(settings, keys).validate(s, tok.token)
    assert ctx.user_name == "swift" and ctx.project_name == "service" and ctx.project_id == tok.project_id
    assert {"ResellerAdmin", "service"} <= set(ctx.roles)
    assert service_token(settings, database=db, keys=keys) is tok  # cached
    auth.forget(settings, "some other token")  # not the cached one: kept
    assert service_token(settings, database=db, keys=keys) is tok
    auth.forget(settings, tok.token)
    assert service_token(settings, database=db, keys=keys).token != tok.token


def test_token_is_renewed_past_half_its_life(cloud):
    settings, db, keys = cloud
    now = datetime.now(UTC)
    old = ServiceToken("t", "p", now + timedelta(seconds=1000), now - timedelta(seconds=2600))
    assert not old.fresh() and ServiceToken("t", "p", now + timedelta(seconds=3000), now).fresh()
    auth._tokens[auth._key(settings)] = old
    assert service_token(settings, database=db, keys=keys).token != "t"


def test_without_a_lent_database_it_opens_the_settings_one(cloud):
    settings, db, keys = cloud
    assert service_token(settings).project_id == service_token(settings, database=db, keys=keys).project_id


def test_account_url_and_refusals(tmp_path, cloud):
    settings, db, keys = cloud
    assert account_url(settings, "abc") == "http://127.0.0.1:1/v1/AUTH_abc"
    with pytest.raises(ObjectStoreError, match="object_store_url"):
        account_url(Settings(), "abc")
    with pytest.raises(ObjectStoreError, match="stratus bootstrap"):
        service_token(settings.model_copy(update={"object_store_user": "nobody"}), database=db, keys=keys)
