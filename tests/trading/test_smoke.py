from tests.desk import Desk


async def test_quote_and_close(desk: Desk) -> None:
    _, token = await desk.client()
    quote = await desk.quote(token)
    assert quote.status_code == 201, quote.text
    assert quote.json()["price"] == "5.0150"
    close = await desk.close(token, quote.json()["sessionId"], oid="abc-1")
    assert close.status_code == 201, close.text
    again = await desk.close(token, quote.json()["sessionId"], oid="abc-1")
    assert again.status_code == 200 and again.json() == close.json()
