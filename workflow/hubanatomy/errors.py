"""Errors that mean "the input or the configuration is wrong", reported without a traceback."""


class InputError(ValueError):
    """Bad input or configuration; the message names the file/key/row and what was expected."""


# what to do when no Hub is reachable, appended to every such error (archive, crawl)
OFFLINE_HINT = (
    "To work without the Hub, run on the built-in simulator "
    "(`snakemake --cores all --config source=simulated`), on local files "
    "(`--config source=snapshot` with snapshot.path: a raw JSONL file or folder, or a copy of "
    "the archive; see config/README.md), or against the Hub emulator "
    "(`hubanatomy serve-hub --raw DIR --port 8765`, then point crawl.endpoint or "
    "archive.endpoint at http://127.0.0.1:8765).")


def describe_os_error(error: OSError) -> str:
    """One line for a failed file operation: what failed, on which path, and what to do."""
    import errno

    paths = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
    reason = error.strerror or str(error) or type(error).__name__
    hint = {errno.ENOSPC: "free some space, or write elsewhere, and rerun",
            errno.EDQUOT: "free some space, or write elsewhere, and rerun",
            errno.EACCES: "check the folder's permissions, or write elsewhere",
            errno.EPERM: "check the folder's permissions, or write elsewhere",
            errno.EROFS: "the file system is read-only: write elsewhere"}.get(error.errno)
    text = f"{reason}: {paths}" if paths else reason
    return f"{text} ({hint})" if hint else text


def config_given_as_text(config: dict, schema: dict, path: str = "") -> list[str]:
    """Keys whose schema wants a number, a boolean or null but whose value is text that YAML
    would read as one: what Snakemake makes of a nested `--config key='{a: 5}'`."""
    import yaml

    found = []
    properties = schema.get("properties", {})
    for key, value in config.items():
        where = f"{path}{key}"
        sub = properties.get(key, {})
        if isinstance(value, dict):
            found += config_given_as_text(value, sub, f"{where}.")
            continue
        wanted = sub.get("type", [])
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if isinstance(value, str) and wanted and "string" not in wanted:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                continue
            if not isinstance(parsed, str):
                found.append(f"{where} is the text {value!r}, not {parsed!r}")
    return found


def config_text_hint(found: list[str]) -> str:
    return ("config: " + "; ".join(found) + ". Snakemake passes the values inside a nested "
            "--config entry (such as simulated='{models: 5000}') as text, and the schema wants "
            "numbers, booleans or null there. Put those keys in a config file instead (a YAML "
            "file holding e.g. `simulated: {models: 5000}`) and add --configfile that.yaml; "
            "top-level keys (--config seed=7) are fine on the command line")
