"""Fuzz every API operation from the OpenAPI spec (schemathesis): no request gets a 500, on
SQLite and on PostgreSQL (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_factories import make_env

from labelloop.server import ServerSettings, create_app

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = 50  # per operation: about 20 s per database; 200 found nothing more


@pytest.mark.slow
def test_no_server_errors_anywhere_in_the_spec(workspace, tmp_path: Path):
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error

    env = make_env(workspace, tmp_path, n=12)
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = env.auth("root")
    failures = []
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy(), project=st.sampled_from(["alpha", "beta", "nope"]))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case, project):
            if case.path_parameters and "project" in case.path_parameters:
                case.path_parameters["project"] = project
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # a server exception the ASGI transport re-raised: a 500
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} "
                    f"{case.path_parameters or ''} {case.body!r:.120}: raised "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
                )
                return
            # exports (Parquet) and media files are binary: decode only to report
            body = response.content.decode("utf-8", errors="replace")
            try:
                case.validate_response(response, checks=(not_a_server_error,))
            except Exception as exc:  # schemathesis' failure group: collect, report all at once
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.200}: "
                    f"{response.status_code} {body[:200]} ({type(exc).__name__})"
                )
            if response.status_code >= 400 and body.startswith("{"):
                assert "error" in response.json(), body

        run()
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures)
