import re


def pane_version(client, run_id: str) -> int:
    """The review version the pane's forms carry (a counter locally, a digest in proxy mode)."""
    body = client.get(f"/runs/{run_id}/").content.decode()
    return int(re.search(r'data-version="(\d+)"', body).group(1))
