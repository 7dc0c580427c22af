"""The ``otc`` command.

Every failure an operator can cause or meet (bad config, unreachable database or store)
prints one line on stderr and exits non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from otc_framework import __version__
from otc_framework.config import DeploymentConfig, load_config
from otc_framework.errors import ConfigError, OtcError
from otc_framework.plugins import build_plugin_host, enabled_names, installed_plugins

DEFAULT_CONFIG = "deployments/demo/otc.toml"


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("OTC_CONFIG") or DEFAULT_CONFIG)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_serve(args: argparse.Namespace) -> int:
    from otc_framework.logs import configure_logging
    from otc_framework.runtime.preflight import preflight
    from otc_framework.web.serve import serve_workers

    # Overrides travel as environment variables so every worker process sees them too.
    for key, value in (("WORKERS", args.workers), ("HOST", args.host), ("PORT", args.port)):
        if value is not None:
            os.environ[f"OTC__SERVER__{key}"] = str(value)
    path = _config_path(args)
    config = load_config(path)
    configure_logging(config.logging.level)
    build_plugin_host(config)
    asyncio.run(preflight(config))
    return serve_workers(config, path)


def cmd_demo(args: argparse.Namespace) -> int:
    from otc_framework.demo import run_demo

    run_demo(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir),
        market_hours=args.market_hours,
        config_path=_config_path(args),
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from otc_framework.storage.database import close_database, migrate, open_database
    from otc_framework.storage.seed import seed_controls

    config = load_config(_config_path(args))
    plugins = build_plugin_host(config)
    url = config.database.url.get_secret_value()

    async def run() -> list[str]:
        done = await migrate(url, args.target)
        if args.target is None:
            # Plugin controls are seeded here, not by a migration: which plugins are
            # enabled is the deployment's choice, not the schema's.
            await open_database(url)
            try:
                await seed_controls(plugins.controls())
            finally:
                await close_database()
        return done

    done = asyncio.run(run())
    _print_json({"migrations": done, "target": args.target or "latest"})
    return 0


def _operate(
    args: argparse.Namespace, task: Callable[[Any], Awaitable[Any]], failed: Callable[[Any], bool] | None = None
) -> int:
    """Run an operator task against the deployment's database and store; print its JSON.
    Exit 1 when ``failed`` says the answer reports a problem (a check that found some)."""
    from otc_framework.runtime.backoffice import open_backoffice

    config = load_config(_config_path(args))

    async def run() -> Any:
        async with open_backoffice(config) as office:
            return await task(office)

    answer = asyncio.run(run())
    _print_json(answer)
    return 1 if failed is not None and failed(answer) else 0


def cmd_client_list(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.list_all_clients(args.active, args.search))


def cmd_client_create(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.create_client(
        office, args.name, args.tier, args.role, None, args.group_id, args.participants))


def cmd_client_activate(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.set_active(office, args.client, args.command_active))


def cmd_client_rotate_key(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.rotate_key(office, args.client))


def cmd_holidays_import(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.import_holidays(office, args.year))


def cmd_controls_list(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, commands.list_controls)


def cmd_controls_set(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.set_control(office, args.key, args.value))


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    config = load_config(_config_path(args))
    return _operate(args, lambda office: commands.test_alert(office, config))


def cmd_alerts_list(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.list_alerts(args.kind, args.severity, args.limit))


def cmd_closings_verify(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    return _operate(args, lambda office: commands.verify_prices(args.since), lambda answer: bool(answer["mismatches"]))


def cmd_hedges_list(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    config = load_config(_config_path(args))
    return _operate(args, lambda office: commands.list_hedges(office, config, args.status, args.provider, args.date))


def cmd_hedges_act(args: argparse.Namespace) -> int:
    from otc_framework.admin import commands

    config = load_config(_config_path(args))
    if args.hedges_command == "mark-filled":
        given = {"venueReference": args.venue_reference, "fillPrice": args.fill_price, "amount": args.amount,
                 "provider": args.provider}
        return _operate(args, lambda office: commands.mark_hedge_filled(office, config, args.hedge, given))
    act = commands.retry_hedge if args.hedges_command == "retry" else commands.release_hedge
    return _operate(args, lambda office: act(office, config, args.hedge))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date, YYYY-MM-DD") from None


def _time_bound(text: str) -> Any:
    """``--since``: a date (its midnight in America/Sao_Paulo) or a date-time with offset,
    read exactly as the admin API's ``since`` filters are."""
    from otc_framework.admin.audit_schemas import _instant

    try:
        return _instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_plugins(args: argparse.Namespace) -> int:
    path = _config_path(args)
    enabled = set(enabled_names(load_config(path))) if path.exists() else set()
    rows = [(p.name, p.distribution, p.version, "yes" if p.name in enabled else "no") for p in installed_plugins()]
    header = ("NAME", "DISTRIBUTION", "VERSION", f"ENABLED ({path})")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    config: DeploymentConfig = load_config(args.file)
    plugins = build_plugin_host(config)
    resolved = config.model_dump(mode="json", exclude={"plugins"})
    resolved["plugins"] = {"enabled": plugins.enabled, **plugins.masked_configs()}
    _print_json(resolved)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otc", description="OTC desk framework")
    parser.add_argument("--version", action="version", version=f"otc-framework {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help=f"deployment file (default: $OTC_CONFIG or {DEFAULT_CONFIG})")
        return p

    p = with_config(sub.add_parser("serve", help="serve the API with N workers"))
    p.add_argument("--workers", type=int)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = with_config(sub.add_parser("demo", help="run the embedded demo (SQLite, in-process store, fake venues)"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--data-dir", default=".otc-demo")
    p.add_argument("--market-hours", choices=["always", "real"], default="always")
    p.set_defaults(func=cmd_demo)

    p = with_config(sub.add_parser("migrate", help="apply database migrations (and seed defaults)"))
    p.add_argument("--target", help="migration name to move to, or 'zero' to roll everything back")
    p.set_defaults(func=cmd_migrate)

    client = sub.add_parser("client", help="manage clients").add_subparsers(dest="client_command", required=True)
    p = with_config(client.add_parser("list", help="list clients (JSON), newest first"))
    state = p.add_mutually_exclusive_group()
    state.add_argument("--active", dest="active", action="store_const", const=True, help="active clients only")
    state.add_argument("--inactive", dest="active", action="store_const", const=False, help="inactive clients only")
    p.add_argument("--search", help="part of the name, any case")
    p.set_defaults(func=cmd_client_list, active=None)
    p = with_config(client.add_parser("create", help="create a client; prints its API key once"))
    p.add_argument("--name", required=True)
    p.add_argument("--tier", required=True, choices=[f"T{i}" for i in range(1, 8)])
    p.add_argument("--role", default="client", choices=["client", "admin"])
    p.add_argument("--group-id", help="the client's WhatsApp group (…@g.us): the bot trades for it there")
    p.add_argument("--participant", dest="participants", action="append",
                   help="a number or id allowed to trade in the group (repeat; none = anyone in it)")
    p.set_defaults(func=cmd_client_create)
    for name, active, text in (("deactivate", False, "refuse the client's key and tokens at once"),
                               ("activate", True, "let a deactivated client log in again")):
        p = with_config(client.add_parser(name, help=text))
        p.add_argument("client", help="client id or exact name")
        p.set_defaults(func=cmd_client_activate, command_active=active)
    p = with_config(client.add_parser("rotate-key", help="issue a new API key (printed once); old key and tokens stop"))
    p.add_argument("client", help="client id or exact name")
    p.set_defaults(func=cmd_client_rotate_key)

    days = sub.add_parser("holidays", help="market holidays").add_subparsers(dest="holidays_command", required=True)
    p = with_config(days.add_parser("import", help="add a year's official BR (B3) and US (Federal Reserve) holidays"))
    p.add_argument("--year", type=int, required=True)
    p.set_defaults(func=cmd_holidays_import)

    controls = sub.add_parser("controls", help="runtime controls").add_subparsers(dest="controls_command", required=True)
    p = with_config(controls.add_parser("list", help="every control with its type, default and value (JSON)"))
    p.set_defaults(func=cmd_controls_list)
    p = with_config(controls.add_parser("set", help="change a control (validated and audited like the admin API)"))
    p.add_argument("key")
    p.add_argument("value", help="true/false, a number, a decimal, a choice, or a comma-separated list")
    p.set_defaults(func=cmd_controls_set)

    alerts = sub.add_parser("alerts", help="operator alerts").add_subparsers(dest="alerts_command", required=True)
    p = with_config(alerts.add_parser("test", help="queue a test alert for every enabled sink (a running server sends it)"))
    p.set_defaults(func=cmd_alerts_test)
    p = with_config(alerts.add_parser("list", help="alerts with their delivery per sink (JSON), newest first"))
    p.add_argument("--kind", help="exact kind, e.g. spot.failing")
    p.add_argument("--severity", choices=["info", "warning", "critical"])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_alerts_list)

    closings = sub.add_parser("closings", help="trades").add_subparsers(dest="closings_command", required=True)
    p = with_config(closings.add_parser(
        "verify", help="replay every closing's price and total from its snapshot (JSON); exit 1 on any mismatch"))
    p.add_argument("--since", type=_time_bound, help="closings created from then: YYYY-MM-DD or a date-time with offset")
    p.set_defaults(func=cmd_closings_verify)

    hedges = sub.add_parser("hedges", help="hedges of closings on LPs").add_subparsers(
        dest="hedges_command", required=True)
    p = with_config(hedges.add_parser("list", help="hedges (JSON), newest first; the current business day's by default"))
    p.add_argument("--status", help="pending, held, quoting, executing, unknown, filled, failed or skipped")
    p.add_argument("--provider", help="exact provider name, e.g. nonco")
    p.add_argument("--date", type=_day, help="hedges created that day in America/Sao_Paulo: YYYY-MM-DD")
    p.set_defaults(func=cmd_hedges_list)
    for name, text in (("retry", "send a failed hedge back to the engine, under a new order id"),
                       ("release", "let a held hedge (above exec_max_order_amount) go to the market")):
        p = with_config(hedges.add_parser(name, help=text))
        p.add_argument("hedge", help="hedge id")
        p.set_defaults(func=cmd_hedges_act)
    p = with_config(hedges.add_parser(
        "mark-filled", help="record that the venue executed what is left of an unknown, failed or held hedge"))
    p.add_argument("hedge", help="hedge id")
    p.add_argument("--venue-reference", required=True, help="the venue's own id of the trade that filled it")
    p.add_argument("--fill-price", required=True)
    p.add_argument("--amount", help="defaults to what is unfilled (the only amount accepted)")
    p.add_argument("--provider", help="the venue that executed it; defaults to the hedge's provider")
    p.set_defaults(func=cmd_hedges_act)

    p = with_config(sub.add_parser("plugins", help="list installed plugins and which are enabled"))
    p.set_defaults(func=cmd_plugins)

    config = sub.add_parser("config", help="deployment config").add_subparsers(dest="config_command", required=True)
    p = config.add_parser("check", help="validate a deployment file; print it resolved, secrets masked")
    p.add_argument("file")
    p.set_defaults(func=cmd_config_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OtcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
