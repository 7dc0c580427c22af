"""A client's own closings: newest first, cursor pages, never another client's."""

from __future__ import annotations

from tests.desk import Desk, bearer


async def test_list_pages_newest_first_and_only_own(desk: Desk) -> None:
    _, alice = await desk.client("alice")
    _, bob = await desk.client("bob")
    made = []
    for i in range(5):
        quote = await desk.quote(alice)
        made.append((await desk.close(alice, quote.json()["sessionId"], oid=f"a-{i}")).json()["closingId"])
    bobs = (await desk.close(bob, (await desk.quote(bob)).json()["sessionId"])).json()["closingId"]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await desk.http.get("/v1/closings", params=params, headers=bearer(alice))).json()
        seen += [item["closingId"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    assert bobs not in seen


async def test_detail_is_own_only(desk: Desk) -> None:
    _, alice = await desk.client("alice")
    _, bob = await desk.client("bob")
    closing = (await desk.close(alice, (await desk.quote(alice)).json()["sessionId"])).json()
    mine = await desk.http.get(f"/v1/closings/{closing['closingId']}", headers=bearer(alice))
    assert mine.status_code == 200 and mine.json() == closing
    for path in (f"/v1/closings/{closing['closingId']}", "/v1/closings/not-a-uuid",
                 "/v1/closings/00000000-0000-0000-0000-000000000000"):
        response = await desk.http.get(path, headers=bearer(bob))
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


async def test_bad_paging_parameters(desk: Desk) -> None:
    _, token = await desk.client()
    for params, field in (({"limit": 0}, "limit"), ({"limit": 500}, "limit"), ({"cursor": "garbage"}, "cursor"),
                          ({"page": 2}, "page")):
        response = await desk.http.get("/v1/closings", params=params, headers=bearer(token))
        assert response.status_code == 400 and response.json()["field"] == field, response.text
