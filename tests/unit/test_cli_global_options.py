"""Global options are accepted before or after the command name (README, "What it does")."""

from click.testing import CliRunner

from reconciler.cli import GlobalOptions, cli, global_options


@cli.command("_probe", hidden=True)
@global_options
def _probe() -> None:
    import click

    opts = click.get_current_context().find_object(GlobalOptions)
    click.echo(f"{opts.endpoint} {opts.region} {opts.emulator}")


def test_global_option_before_command() -> None:
    result = CliRunner().invoke(cli, ["--endpoint", "127.0.0.1:9", "_probe"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "127.0.0.1:9 None False"


def test_global_option_after_command_wins_over_env() -> None:
    result = CliRunner().invoke(
        cli,
        ["_probe", "--region", "cn-shanghai", "--emulator"],
        env={"RECONCILER_ENDPOINT": "127.0.0.1:7"},
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "127.0.0.1:7 cn-shanghai True"


def test_help_lists_global_options() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "--endpoint" in result.output and "--emulator" in result.output
