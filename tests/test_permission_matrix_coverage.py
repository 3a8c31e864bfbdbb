"""Every URL of the site is in the permission matrix, with GET and POST.

Each module tests/test_permission_matrix*.py lists in MATRIX_CASES the cases it runs (Case
objects, or (URL name, method) pairs); a URL, found by walking the URL configuration, that no
case requests with each method fails here, so a new screen cannot be added without its cases.
"""

import importlib
from pathlib import Path

from tests.urlwalk import url_patterns

MODULES = sorted(
    path.stem
    for path in Path(__file__).parent.glob("test_permission_matrix*.py")
    if path.stem != Path(__file__).stem
)


def _requested() -> set[tuple[str, str]]:
    pairs = set()
    for name in MODULES:
        module = importlib.import_module(f"tests.{name}")
        for case in module.MATRIX_CASES:
            pairs.add((case.url, case.method) if hasattr(case, "url") else tuple(case))
    return pairs


def test_every_url_is_in_the_matrix():
    """Each URL gets GET and POST in some case here (a refused method is a case too)."""
    covered = _requested()
    urls = {url.key for url in url_patterns()}
    missing = sorted(
        (url, method) for url in urls for method in ("GET", "POST") if (url, method) not in covered
    )
    assert missing == [], f"URLs and methods no case of the permission matrix requests: {missing}"
    unknown = sorted({url for url, _method in covered} - urls)
    assert unknown == [], f"cases for URLs that do not exist: {unknown}"
