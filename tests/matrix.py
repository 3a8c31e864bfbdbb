"""What every permission-matrix module shares: the case, signing a role in, the refusals.

The matrix is several modules (tests/test_permission_matrix*.py), each listing in MATRIX_CASES
the (URL, method) pairs it requests; tests/test_permission_matrix_coverage.py fails for a URL of
the site that none of them requests with GET and POST.
"""

from dataclasses import dataclass

from tests.dbstate import Writes

OTHER = {"37": "33", "33": "37"}
# Where a role is national, "own" and "other" only name which object its form data comes from.
HOME = {"shandong_admin": "37", "zhejiang_clerk": "33", "reviewer": "37", "anonymous": "37"}


def login_redirect(response) -> bool:
    return response.status_code == 302 and "/admin/login/" in response["Location"]


@dataclass(frozen=True)
class Case:
    url: str  # the URL's name, "admin:licensing_licence_change"
    method: str
    persona: str
    model: str | None = None
    owner: str | None = None
    variant: str = ""  # "own", "forge:<field>", or what else the handler does

    @property
    def id(self) -> str:
        return "-".join(
            str(part)
            for part in (
                self.url.split(":")[-1],
                self.method,
                self.persona,
                self.owner,
                self.variant,
            )
            if part
        )


def sign_in(client, request, persona):
    if persona == "anonymous":
        client.logout()
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


def assert_refused(response, case, writes, expected):
    """Nothing written, and the refusal the role should get."""
    assert writes.all() == set(), case
    if case.persona == "anonymous":
        assert login_redirect(response), case
    else:
        assert response.status_code == expected, (case, response.status_code)


def get_page(client, request, case, url, *, allowed: bool, refused: int):
    """GET as the role: 200 where it may open the page, else the refusal; never a write."""
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.get(url)
    if allowed:
        assert response.status_code == 200, case
        assert writes.all() == set(), case
    else:
        assert_refused(response, case, writes, refused)
