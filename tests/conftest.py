"""Personas and helpers shared by the whole suite."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.utils import translation

from accounts.models import User
from accounts.roles import DATA_ENTRY, PROVINCIAL_ADMIN, REVIEWER
from licensing.factories import make_licence, make_manufacturer
from licensing.models import Province

# The permission matrix's world (one object of every model per province), for the modules
# that walk every URL.
pytest_plugins = ["tests.matrix_world"]

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Code called directly speaks English, so assertions on messages don't hang on wording.

    Requests still go through LocaleMiddleware and get the Chinese interface;
    tests/test_translations.py checks that every message has its Chinese text.
    """
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Uploaded attachments (a return's stamped scan) go to the test's own folder.
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    # The manifest storage needs collectstatic first; tests serve static files from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Each test its own empty cache: no cached page or request count of another test (or of
    # the development server's cache folder) leaks in.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tests",
        }
    }
    caches["default"].clear()


def make_user(username, *, province=None, role=None, **fields):
    user = User.objects.create_user(
        username=username, password=PASSWORD, province=province, is_staff=True, **fields
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def shandong(db):
    return Province.objects.get(code="37")


@pytest.fixture
def zhejiang(db):
    return Province.objects.get(code="33")


@pytest.fixture
def shandong_admin(shandong):
    """The 山东 provincial system administrator."""
    return make_user("sd_admin", province=shandong, role=PROVINCIAL_ADMIN)


@pytest.fixture
def shandong_clerk(shandong):
    """A 山东 provincial data-entry user."""
    return make_user("sd_clerk", province=shandong, role=DATA_ENTRY)


@pytest.fixture
def zhejiang_clerk(zhejiang):
    """A 浙江 provincial data-entry user."""
    return make_user("zj_clerk", province=zhejiang, role=DATA_ENTRY)


@pytest.fixture
def reviewer(db):
    """A department reviewer of the national Metrology Department."""
    return make_user("reviewer", role=REVIEWER)


@pytest.fixture
def shandong_licence(shandong):
    manufacturer = make_manufacturer(shandong, 1001)
    return make_licence(manufacturer, 1001, products=2)


@pytest.fixture
def zhejiang_licence(zhejiang):
    manufacturer = make_manufacturer(zhejiang, 2001)
    return make_licence(manufacturer, 2001, products=2)
