"""What the bot says (Brazilian Portuguese), and Brazilian number formatting.

Numbers are formatted from ``Decimal`` by ``Decimal.__format__``, which is exact: no float
ever touches a price on its way to a client's screen. Test-mode replies (a group mapped to no
client) all start with ``TEST_PREFIX``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from otc_framework.bot.session import BotSession, BotTrade

TEST_PREFIX = "(TESTE) "
PRICE_PLACES = 4

HELP = (
    "Comandos da mesa:\n"
    "/ref [volume] [USDT|USDC] [D0|D1|D2]: inicia uma cotação (padrão USDT D0). Ex.: /ref 100k USDT D0\n"
    "/off: encerra a cotação\n"
    "/fecha [volume]: fecha no preço, depois do Off\n"
    "/pix: dados para pagamento\n"
    "/help: esta mensagem\n"
    "Volumes: 10k = 10.000; 1,5kk = 1.500.000; 200.400; 10.000,50"
)
PIX_MISSING = "Os dados de PIX não estão configurados; fale com a mesa."
BUSY = "Já há uma cotação em andamento neste grupo. Envie /off para encerrá-la."
NOTHING_TO_STOP = "Não há cotação em andamento."
NOTHING_TO_CLOSE = "Não há cotação aberta para fechar. Envie /ref para cotar."
WAIT_FOR_OFF = "Aguarde o Off para fechar."
BLOCKED_BY_OFF = "A cotação foi encerrada com /off; envie /ref para uma nova."
WINDOW_OVER = "A janela de fechamento terminou; envie /ref para uma nova cotação."
ALREADY_CLOSING = "O fechamento já está sendo registrado."
NEED_VOLUME = "Informe o volume para fechar. Ex.: /fecha 100k"
NOT_QUOTING = "A mesa não está cotando agora; tente mais tarde."
NOT_RECORDED = "Não foi possível registrar o fechamento agora; nada foi fechado. Envie /ref para uma nova cotação."
PRICE_UNAVAILABLE = "Cotação interrompida: preço indisponível no momento. Tente /ref em instantes."


def number(value: Decimal, places: int) -> str:
    """``value`` in pt-BR form with ``places`` decimals: ``Decimal("52531.5")`` → ``52.531,50``."""
    text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), f",.{places}f")
    return text.translate(str.maketrans(",.", ".,"))


def volume(value: Decimal) -> str:
    """A volume without needless decimals: ``10000`` → ``10.000``, ``10000.5`` → ``10.000,5``."""
    exponent = value.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return number(value, places)


def day(value: date | str) -> str:
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return parsed.strftime("%d/%m/%Y")


def prefixed(session_or_test: BotSession | bool, text: str) -> str:
    test = session_or_test if isinstance(session_or_test, bool) else session_or_test.test_mode
    return TEST_PREFIX + text if test else text


def _title(session: BotSession) -> str:
    who = session.client_name or "Grupo sem cliente"
    size = f" · {volume(session.volume)}" if session.volume is not None else ""
    return f"{who} · {session.currency} {session.settlement}{size}"


def quote(session: BotSession, n: int, price: Decimal, total: int) -> str:
    return prefixed(session, f"{_title(session)} · {number(price, PRICE_PLACES)} ({n}/{total})")


def off(session: BotSession, window_seconds: float) -> str:
    best = session.closing_price()
    return prefixed(session, f"Off · /fecha em até {window_seconds:g} s fecha a {number(best.price, PRICE_PLACES)}")


def stopped(session: BotSession) -> str:
    return prefixed(session, "Off · cotação encerrada pelo cliente")


def closed(session: BotSession, trade: BotTrade) -> str:
    lines = [
        f"Fechado: {session.client_name or 'grupo de teste'} compra {volume(trade.amount)} {session.currency} "
        f"{session.settlement} a {number(trade.price, PRICE_PLACES)}",
        f"Total R$ {number(trade.total_brl, 2)}",
    ]
    if trade.settlement_date is not None:
        lines.append(f"Liquidação {day(trade.settlement_date)}")
    if trade.oid is not None:
        lines.append(f"Ref. {trade.oid}")
    if session.test_mode:
        lines.append("Simulação: nada foi registrado.")
    return prefixed(session, "\n".join(lines))


def market_closed(next_open: datetime | None, zone: ZoneInfo) -> str:
    if next_open is None:
        return "Mercado fechado."
    local = next_open.astimezone(zone)
    return f"Mercado fechado. Próxima abertura: {local.strftime('%d/%m/%Y %H:%M')} ({zone.key})."


def refused(name: str | None) -> str:
    who = f", {name}" if name else ""
    return (f"Desculpe{who}: este número não está autorizado a operar por este grupo. "
            "Fale com a mesa para ser incluído.")


def below_minimum(minimum: Decimal) -> str:
    return f"Volume abaixo do mínimo de {volume(minimum)}."


def above_maximum(maximum: Decimal) -> str:
    return f"Volume acima do máximo de {volume(maximum)}; fale com a mesa."
