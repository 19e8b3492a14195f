"""The SDK client factory: credentials, endpoints, and the one road every call takes
(rate limit -> count -> SDK -> retry/classify).

The SDKs are imported lazily, here and in kms.py/ram.py/rds.py only, so `reconciler --help`
stays fast and nothing else in the code depends on them.

Tea clients are safe to share between threads: a call builds its own request objects and the
HTTP session (darabonba's per-host `requests.Session`, a thread-safe urllib3 pool) is global.
So we keep ONE client per service and region and call it from every worker thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from reconciler.cancellation import raise_if_cancelled
from reconciler.cloud.counter import CallCounter
from reconciler.cloud.endpoint import Endpoint, parse_endpoint
from reconciler.cloud.network import CallSite, Reachability
from reconciler.cloud.ratelimit import RateLimiter
from reconciler.cloud.redact import remember_secret, silence_sdk_output
from reconciler.cloud.retry import Family, RetryPolicy, family_of
from reconciler.cloud.sessions import session_opened
from reconciler.errors import CloudCallError, NetworkError, ReconcilerError

T = TypeVar("T")
Service = Literal["rds", "kms", "ram"]

EMULATOR_ACCESS_KEY_ID = "emulator"
EMULATOR_ACCESS_KEY_SECRET = "emulator-secret"  # a public test value, not a secret

OIDC_ENV = (
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
)
RAM_ENDPOINT = "ram.aliyuncs.com"  # RAM is global; the SDK's map lacks some regions


class CredentialsError(ReconcilerError):
    """No usable credentials, or a half-configured credentials source."""


@dataclass(frozen=True)
class StaticCredentials:
    """An access key pair given directly (the emulator's, or a test's). repr hides the secret."""

    access_key_id: str
    access_key_secret: str = field(repr=False)


@dataclass(frozen=True)
class RoleToAssume:
    """An account reached by assuming its RAM role with the base credentials (README,
    "Several accounts"); `account` is the spec's name of it, for the messages."""

    account: str
    role_arn: str
    session_name: str


@dataclass(frozen=True)
class CloudSettings:
    """Where and as whom to call. `endpoint` (HOST:PORT) sends all services there over http."""

    endpoint: str | None = None
    profile: str | None = None
    credentials: StaticCredentials | None = None
    parallelism: int = 16
    read_timeout_ms: int = 10_000
    """Per attempt. The cloud answers these reads and writes in well under a second; 10 s is
    the SDK's own default and leaves room for a slow region. A read that keeps timing out is
    tried RetryPolicy.timeout_attempts times (about 30 s), a write is not repeated."""
    connect_timeout_ms: int = 5_000
    assume: RoleToAssume | None = None
    """Assume this role with the credentials above (STS AssumeRole) and act as it."""
    processes: int | None = 1
    """Worker processes observe may read account-regions in (state/processes.py): 1 reads in
    this process; None: one per account-region, at most one per core (`--processes`)."""


def check_endpoint(endpoint: str) -> str:
    """Validate `HOST:PORT` (see cloud/endpoint.py); return the form the SDK takes.

    Raises EndpointError (a ReconcilerError: the CLI exits 1 with its one line)."""
    return str(parse_endpoint(endpoint))


def check_oidc_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """True when OIDC is fully configured, False when not at all; a partial setup is an error
    (the credentials chain would otherwise skip OIDC silently and pick something else)."""
    present = [name for name in OIDC_ENV if environ.get(name)]
    if present and len(present) < len(OIDC_ENV):
        missing = [name for name in OIDC_ENV if name not in present]
        raise CredentialsError(
            f"OIDC credentials are partly configured: {', '.join(present)} set but "
            f"{', '.join(missing)} missing. Set all of {', '.join(OIDC_ENV)}, or unset them."
        )
    if present:
        _check_token_file(environ["ALIBABA_CLOUD_OIDC_TOKEN_FILE"])
    return bool(present)


def _check_token_file(path: str) -> None:
    """The OIDC token must be in the file now: otherwise the library skips OIDC and the error
    would say no credentials were found at all (a CI job whose token step did not run)."""
    token = Path(path)
    if not token.exists():
        problem = "does not exist"
    elif not token.is_file():
        problem = "is not a file"
    else:
        try:
            problem = "" if token.read_text(encoding="utf-8").strip() else "is empty"
        except (OSError, UnicodeDecodeError) as error:
            problem = f"cannot be read ({type(error).__name__})"
    if problem:
        raise CredentialsError(
            f"OIDC is configured, but ALIBABA_CLOUD_OIDC_TOKEN_FILE={path} {problem}. Write the "
            "identity provider's token there first (in CI: the step that fetches the OIDC "
            f"token), or unset {', '.join(OIDC_ENV)}"
        )


NO_CREDENTIALS_HELP = (
    "no Alibaba Cloud credentials found. Set ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pass --profile NAME (~/.aliyun/config.json or "
    "~/.alibabacloud/credentials.ini), or run on ECS with a RAM role, or set "
    + ", ".join(OIDC_ENV)
    + " for OIDC; use --emulator to try the tool locally"
)


def resolve_credentials(settings: CloudSettings) -> Any:
    """The base credentials (below), or the role of `settings.assume` assumed with them."""
    base = resolve_base_credentials(settings)
    if settings.assume is None:
        return base
    from reconciler.cloud.assume import assume_role

    sts_endpoint = f"http://{check_endpoint(settings.endpoint)}" if settings.endpoint else None
    return assume_role(base, settings.assume, sts_endpoint)


def resolve_base_credentials(settings: CloudSettings) -> Any:
    """An alibabacloud-credentials provider, checked to yield credentials now.

    The order is the library's default chain (environment, OIDC, CLI profile, profile file,
    ECS RAM role, credentials URI). We build the chain from `os.environ` at call time because
    the library reads its environment once, when first imported."""
    from alibabacloud_credentials import provider as p

    # The library logs every failed provider with a traceback, and its refresh warning prints
    # the cached credentials object: none of that may reach a terminal or a CI log.
    silence_sdk_output()
    env = os.environ
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
        remember_secret(env.get(name))
    if settings.credentials is not None:
        remember_secret(settings.credentials.access_key_secret)
        return p.StaticAKCredentialsProvider(
            access_key_id=settings.credentials.access_key_id,
            access_key_secret=settings.credentials.access_key_secret,
        )
    chain: list[Any] = []
    oidc = check_oidc_environment(env)
    if settings.profile:
        chain += [
            p.CLIProfileCredentialsProvider(profile_name=settings.profile),
            p.ProfileCredentialsProvider(
                profile_name=settings.profile,
                profile_file=env.get("ALIBABA_CLOUD_CREDENTIALS_FILE"),
            ),
        ]
    elif env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") and env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        if env.get("ALIBABA_CLOUD_SECURITY_TOKEN"):
            chain.append(
                p.StaticSTSCredentialsProvider(
                    access_key_id=env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                    access_key_secret=env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                    security_token=env["ALIBABA_CLOUD_SECURITY_TOKEN"],
                )
            )
        else:
            chain.append(
                p.StaticAKCredentialsProvider(
                    access_key_id=env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                    access_key_secret=env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                )
            )
    elif oidc:
        chain.append(
            p.OIDCRoleArnCredentialsProvider(
                role_arn=env["ALIBABA_CLOUD_ROLE_ARN"],
                oidc_provider_arn=env["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"],
                oidc_token_file_path=env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"],
            )
        )
    else:
        chain += _ambient_providers(env)
    return _first_working(chain, settings.profile)


def _ambient_providers(env: os._Environ[str]) -> list[Any]:
    """The tail of the default chain: profiles, the ECS role, a credentials URI."""
    from alibabacloud_credentials import provider as p

    chain: list[Any] = []
    if env.get("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "false").lower() != "true":
        chain.append(p.CLIProfileCredentialsProvider(profile_name=env.get("ALIBABA_CLOUD_PROFILE")))
    chain.append(
        p.ProfileCredentialsProvider(
            profile_name=env.get("ALIBABA_CLOUD_PROFILE", "default"),
            profile_file=env.get("ALIBABA_CLOUD_CREDENTIALS_FILE"),
        )
    )
    if env.get("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false").lower() != "true":
        chain.append(
            p.EcsRamRoleCredentialsProvider(role_name=env.get("ALIBABA_CLOUD_ECS_METADATA"))
        )
    if env.get("ALIBABA_CLOUD_CREDENTIALS_URI"):
        chain.append(p.URLCredentialsProvider(uri=env["ALIBABA_CLOUD_CREDENTIALS_URI"]))
    return chain


def _first_working(chain: list[Any], profile: str | None) -> Any:
    for candidate in chain:
        try:
            credentials = candidate.get_credentials()
        except Exception:  # the next provider may work
            continue
        if credentials is not None:
            # Scrubbed literally from every message from now on (profile, ECS role, OIDC).
            remember_secret(credentials.get_access_key_secret())
            remember_secret(credentials.get_security_token())
            return candidate
    if profile:
        raise CredentialsError(
            f"profile {profile!r} gave no credentials: check ~/.aliyun/config.json or "
            "~/.alibabacloud/credentials.ini (ALIBABA_CLOUD_CREDENTIALS_FILE)"
        )
    raise CredentialsError(NO_CREDENTIALS_HELP)


def _sdk_client_class(service: Service) -> Any:
    if service == "rds":
        from alibabacloud_rds20140815.client import Client
    elif service == "kms":
        from alibabacloud_kms20160120.client import Client
    else:
        from alibabacloud_ram20150501.client import Client
    return Client


class CloudClients:
    """One SDK client per (service, region), shared by all threads, and the call road."""

    def __init__(
        self,
        settings: CloudSettings,
        *,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        counter: CallCounter | None = None,
        credential_provider: Any | None = None,
    ) -> None:
        """`credential_provider`: one resolve_credentials() gave already (a worker process
        reuses its account's across its units: state/processes.py); default: resolved here."""
        silence_sdk_output()  # before any SDK import or call: DEBUG=sdk must print nothing
        self.settings = settings
        self._endpoint = parse_endpoint(settings.endpoint) if settings.endpoint else None
        self.endpoint = str(self._endpoint) if self._endpoint else None
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self.counter = counter or CallCounter()
        self._credential_provider = credential_provider or resolve_credentials(settings)
        self._clients: dict[tuple[str, str], Any] = {}
        self._sites: dict[tuple[str, str], CallSite] = {}
        self._hosts: dict[tuple[str, str], tuple[str, int]] = {}
        """Each client's host and pool size: the SDK's HTTP session (cloud/sessions.py)."""
        self._pool_size = max(40, 2 * settings.parallelism)
        self.reachability = Reachability()
        self._lock = threading.Lock()

    def client(self, service: Service, region: str) -> Any:
        return self._client_and_site(service, region)[0]

    def _client_and_site(
        self, service: Service, region: str
    ) -> tuple[Any, CallSite, tuple[str, int]]:
        key = (service, "global" if service == "ram" else region)
        with self._lock:
            if key not in self._clients:
                client = self._make_client(service, region)
                self._clients[key] = client
                self._sites[key] = self._site(client)
                self._hosts[key] = (str(self._sites[key].endpoint), self._pool_size)
            return self._clients[key], self._sites[key], self._hosts[key]

    def _site(self, client: Any) -> CallSite:
        """Where this client's calls go, for the messages of network failures."""
        if self._endpoint is not None:
            endpoint, custom = self._endpoint, True
        else:  # the SDK's own endpoint for the service and region, over https
            endpoint, custom = Endpoint(str(getattr(client, "_endpoint", "the cloud")), 443), False
        return CallSite(
            endpoint,
            custom=custom,
            connect_timeout=self.settings.connect_timeout_ms / 1000,
            read_timeout=self.settings.read_timeout_ms / 1000,
        )

    def _make_client(self, service: Service, region: str) -> Any:
        from alibabacloud_credentials.client import Client as CredentialClient
        from alibabacloud_tea_openapi.utils_models import Config

        silence_sdk_output()  # again: importing the SDK created more loggers
        config = Config(
            credential=CredentialClient(provider=self._credential_provider),
            region_id=region,
            read_timeout=self.settings.read_timeout_ms,
            connect_timeout=self.settings.connect_timeout_ms,
            max_idle_conns=self._pool_size,
        )
        if self.endpoint is not None:
            config.endpoint = self.endpoint
            config.protocol = "http"
            if service == "kms":
                # KMS names its region only by its host (kms.<region>.aliyuncs.com) and its
                # actions have no RegionId field; on one shared endpoint a signed RegionId
                # query says which region a call is for.
                from alibabacloud_tea_openapi.utils_models import GlobalParameters

                config.global_parameters = GlobalParameters(queries={"RegionId": region})
        elif service == "ram":
            config.endpoint = RAM_ENDPOINT
        return _sdk_client_class(service)(config)

    def _retrying(self, service: Service, region: str, action: str, error: CloudCallError) -> None:
        self.counter.count_retry(service, action)
        if family_of(error) is Family.THROTTLING:
            self.limiter.throttled(service, action, region)

    def call(
        self,
        service: Service,
        region: str,
        action: str,
        invoke: Callable[[Any], T],
        *,
        write: bool = False,
        idempotent: bool = False,
    ) -> T:
        """Call `invoke(sdk_client)` under the rate limit, counted, with our retry policy.

        `idempotent` (writes only): the write may be repeated safely even when its answer was
        lost (it carries a ClientToken); other writes are never repeated after a read timeout.
        Raises TransientError (retries exhausted; NetworkError when no answer came) or
        PermanentError."""
        client, site, host = self._client_and_site(service, region)

        def attempt() -> T:
            # Also before each retry: another call may have learnt meanwhile that the
            # endpoint cannot be reached.
            self.reachability.check(f"{service}:{action}", site, write=write)
            with session_opened(host):  # the first call to a host alone (cloud/sessions.py)
                self.limiter.acquire(service, action, region)
                raise_if_cancelled()  # SIGINT/SIGTERM: no new request, not even a retry
                self.counter.count(service, action)
                result = invoke(client)
            self.limiter.answered(service, action, region)
            return result

        try:
            return self.retry.run(
                f"{service}:{action}",
                attempt,
                write=write,
                idempotent=idempotent,
                on_retry=lambda error: self._retrying(service, region, action, error),
                site=site,
            )
        except NetworkError as error:
            self.reachability.record(error)
            raise
