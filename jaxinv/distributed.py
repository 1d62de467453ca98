"""Training on several devices, and on several processes (hosts), with JAX's own sharding.

``Layout.plan(seeds, num_envs, devices)`` lays a run over the first ``devices`` of
``jax.devices()`` (every process's devices in a multi-process run) as a one-axis
``jax.sharding.Mesh``:

* ``"seeds"``: when ``seeds`` is a multiple of ``devices``, each device trains
  ``seeds / devices`` of the independent agents: the chunk runs under ``shard_map``, so each
  device runs the one-device program on its own slice and nothing crosses devices until the
  chunk's metrics are gathered.
* ``"envs"``: otherwise (e.g. one seed) the env axis is split, data-parallel: each device
  steps ``num_envs / devices`` envs of every agent while the agent's parameters, optimiser
  and normalisation statistics are replicated. The chunk is one ``jit`` whose state enters
  and leaves with these ``NamedSharding``s; XLA's partitioner inserts the all-reduces (the
  gradient, the batch means of the observation and reward statistics), so the learner's
  code is unchanged and the run computes what the one-device run computes, up to the order
  of float reductions.

``Layout.over_runs(devices)`` is the ``"seeds"`` layout for any flat axis of independent runs
(a sweep's configuration x seed runs); the caller pads that axis to a multiple of the devices
(``sweep.batch_plan``) and drops the copies afterwards.

Chunks donate their input state (``donate_argnums=0``): callers rebind it, and ``put`` and
``gather`` make copies, so no other holder (a restored checkpoint, a state being saved) shares
a donated buffer.

The state is built on one device (``training.init_seeds``, as in the one-device run) and then
laid out with ``jax.make_array_from_callback``, which also works across processes because
every process builds the same state from the same keys. Results come back replicated, so
every process can read them; only process 0 writes the run directory (``is_writer``).

Multi-process runs: ``jax.distributed.initialize`` must run before JAX starts its backends,
and importing ``jaxinv`` starts them (gymnax builds arrays at import). ``jaxinv train
--coordinator HOST:PORT --num-processes N --process-id I`` (or the ``JAXINV_COORDINATOR``,
``JAXINV_NUM_PROCESSES``, ``JAXINV_PROCESS_ID`` environment variables; a flag wins over its
variable) therefore starts the command again in a fresh interpreter that initialises the
distributed system first (``relaunch``). From Python, call ``jax.distributed.initialize``
yourself before ``import jaxinv``. On CPU, processes exchange data over gloo
(``jax_cpu_collectives_implementation``).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxinv.agents import base

AXIS = "devices"  # the mesh's one axis
# Fields of a learner's state that carry the env axis right after the seed axis:
# ``rollout.EnvBatch`` (both learners) and the actor-critics' running discounted returns.
ENV_AXIS_FIELDS = ("batch", "discounted")
ENV_VARS = {
    "coordinator": "JAXINV_COORDINATOR",
    "num_processes": "JAXINV_NUM_PROCESSES",
    "process_id": "JAXINV_PROCESS_ID",
}
HOST_DEVICE_FLAG = "--xla_force_host_platform_device_count"

# What a relaunched ``jaxinv`` runs: the distributed system first, then the command line.
BOOTSTRAP = """\
import os, sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(
    os.environ["JAXINV_COORDINATOR"],
    int(os.environ["JAXINV_NUM_PROCESSES"]),
    int(os.environ["JAXINV_PROCESS_ID"]),
)
from jaxinv.cli import main
main(sys.argv[1:])
"""


# -- multi-process settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """Where this process sits in a multi-process run."""

    coordinator: str  # "HOST:PORT" of process 0's coordinator service
    num_processes: int
    process_id: int  # in [0, num_processes)


def cluster_from(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Cluster | None:
    """The multi-process settings from flags, else from ``JAXINV_*`` environment variables
    (each flag wins over its variable); None when none of the three is set.

    Raises ``ValueError`` naming the flag (and its variable) when one is missing or out of
    range.
    """
    environ = os.environ if environ is None else environ
    given = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
    values: dict[str, Any] = {}
    for name, value in given.items():
        if value is None and environ.get(ENV_VARS[name], "") != "":
            value = environ[ENV_VARS[name]]
        values[name] = value
    if all(v is None for v in values.values()):
        return None
    for name, value in values.items():
        if value is None:
            raise ValueError(
                f"{_flag(name)} (or {ENV_VARS[name]}) is needed for a multi-process run "
                f"once any of --coordinator, --num-processes, --process-id is set"
            )
    host, sep, port = str(values["coordinator"]).rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            f"--coordinator={values['coordinator']!r} must be HOST:PORT with PORT in [1, 65535]"
        )
    count = _as_int("num_processes", values["num_processes"])
    if count < 1:
        raise ValueError(f"--num-processes={count} must be at least 1")
    index = _as_int("process_id", values["process_id"])
    if not 0 <= index < count:
        raise ValueError(f"--process-id={index} must be in [0, {count - 1}] (--num-processes)")
    return Cluster(str(values["coordinator"]), count, index)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _as_int(name: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{_flag(name)}={value!r} must be an integer") from None


def relaunch(cluster: Cluster, argv: list[str]) -> None:
    """Run ``jaxinv argv`` again in this process's place, initialising the distributed system
    before anything starts JAX's backends (see the module doc). Does not return."""
    env = dict(os.environ)
    env.update(
        {
            ENV_VARS["coordinator"]: cluster.coordinator,
            ENV_VARS["num_processes"]: str(cluster.num_processes),
            ENV_VARS["process_id"]: str(cluster.process_id),
        }
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-c", BOOTSTRAP, *argv], env)


def is_writer() -> bool:
    """True in the process that writes outputs: process 0 (the only one in a normal run)."""
    return jax.process_index() == 0


# -- laying a run over devices ------------------------------------------------------------------


def check_device_count(devices: int) -> None:
    """``ValueError`` naming ``--devices`` unless it is a whole number of the devices available
    (all of them in a multi-process run: the mesh spans every process's devices)."""
    available = jax.device_count()
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"--devices={devices!r} must be an integer in [1, {available}]")
    if devices > available:
        hint = ""
        if jax.default_backend() == "cpu" and jax.process_count() == 1:
            hint = (
                f"; on CPU, start with XLA_FLAGS={HOST_DEVICE_FLAG}={devices} to split the "
                f"cores into {devices} devices"
            )
        raise ValueError(
            f"--devices={devices} must be in [1, {available}]: jax.device_count() is "
            f"{available} ({jax.default_backend()}){hint}"
        )
    if jax.process_count() > 1 and devices != available:
        raise ValueError(
            f"--devices={devices} must be {available} in a run of {jax.process_count()} "
            f"processes: the mesh spans every process's devices (jax.device_count())"
        )


def check_devices(devices: int, seeds: int, num_envs: int) -> str:
    """How ``devices`` devices share the run: ``"single"``, ``"seeds"`` or ``"envs"``.

    Raises ``ValueError`` naming ``--devices`` and the devices available, or the numbers of
    seeds and envs that it must divide.
    """
    check_device_count(devices)
    if devices == 1:
        return "single"
    if seeds % devices == 0:
        return "seeds"
    if num_envs % devices:
        raise ValueError(
            f"--devices={devices} must divide --seeds={seeds} (one device per group of seeds) "
            f"or the config's num_envs={num_envs} (envs split over devices)"
        )
    return "envs"


@dataclass
class Layout:
    """How a run's state (leading seed axis) lies on the devices, and the jitted chunks."""

    mode: str  # "single", "seeds" or "envs" (see check_devices)
    mesh: Mesh | None  # None for "single"

    @classmethod
    def plan(cls, seeds: int, num_envs: int, devices: int = 1) -> Layout:
        """The layout for ``seeds`` agents of ``num_envs`` envs on the first ``devices``
        devices of ``jax.devices()``; ``ValueError`` as ``check_devices``."""
        mode = check_devices(devices, seeds, num_envs)
        if mode == "single":
            return cls(mode, None)
        mesh = Mesh(np.asarray(jax.devices()[:devices]), (AXIS,))
        return cls(mode, mesh)

    @classmethod
    def over_runs(cls, devices: int | Sequence[Any] = 1) -> Layout:
        """The ``"seeds"`` layout for a flat leading axis of independent runs, over the first
        ``devices`` of ``jax.devices()`` (or over the given devices); its length must be a
        multiple of the devices. ``ValueError`` as ``check_device_count``."""
        if not isinstance(devices, int):
            devices = list(devices)
            if len(devices) == 1:
                return cls("single", None)
            return cls("seeds", Mesh(np.asarray(devices), (AXIS,)))
        check_device_count(devices)
        if devices == 1:
            return cls("single", None)
        return cls("seeds", Mesh(np.asarray(jax.devices()[:devices]), (AXIS,)))

    @property
    def num_devices(self) -> int:
        return 1 if self.mesh is None else self.mesh.size

    @property
    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec())

    def state_shardings(self, state: Any, batched: bool = True) -> Any:
        """A ``NamedSharding`` per leaf of ``state``; ``batched``: leaves have the leading
        seed axis (else the per-seed view inside ``vmap``)."""
        lead = (None,) if batched else ()
        if self.mode == "seeds":
            return jax.tree.map(lambda _: NamedSharding(self.mesh, PartitionSpec(AXIS)), state)
        split_envs = NamedSharding(self.mesh, PartitionSpec(*lead, AXIS))
        shardings = jax.tree.map(lambda _: self.replicated, state)
        fields = {name: getattr(state, name) for name in ENV_AXIS_FIELDS if hasattr(state, name)}
        if "batch" not in fields:
            raise ValueError(
                f"{type(state).__name__} has no 'batch' field: its env axis cannot be split "
                f"(use a number of --devices that divides --seeds)"
            )
        return shardings.replace(
            **{name: jax.tree.map(lambda _: split_envs, tree) for name, tree in fields.items()}
        )

    def put(self, state: Any) -> Any:
        """``state`` (built on one device) laid out over the mesh; every process passes the
        same state and keeps the pieces on its own devices. Always fresh device buffers (a
        chunk may donate them), never views of ``state``'s."""
        if self.mesh is None:
            return jax.tree.map(_fresh, state)
        return jax.tree.map(_place, state, self.state_shardings(state))

    def learner(self, learner: base.Learner) -> base.Learner:
        """``learner`` whose update keeps the env axis split (``"envs"``), so the partitioner
        cannot settle for one device doing all the stepping."""
        if self.mode != "envs":
            return learner

        def update(state: Any) -> tuple[Any, dict[str, jax.Array]]:
            state = jax.lax.with_sharding_constraint(state, self.state_shardings(state, False))
            state, metrics = learner.update(state)
            state = jax.lax.with_sharding_constraint(state, self.state_shardings(state, False))
            return state, metrics

        return learner._replace(update=update)

    def compile_chunk(self, fn: Callable[[Any], tuple[Any, Any]], state: Any, donate: bool = True):
        """``jit(fn)`` compiled for ``state``: ``fn(state) -> (state, metrics)``, ``fn`` batched
        over the leading axis (``vmap``), the state keeping its layout and the metrics
        replicated (readable in every process). ``donate``: the input state's buffers are
        reused for the output, so the caller must rebind it (``state, m = chunk(state)``)."""
        donate_argnums = (0,) if donate else ()
        if self.mesh is None:
            return jax.jit(fn, donate_argnums=donate_argnums).lower(state).compile()
        shardings = self.state_shardings(state)
        if self.mode == "seeds":  # each device its own runs: the one-device program, no traffic
            spec = PartitionSpec(AXIS)
            fn = jax.shard_map(
                fn, mesh=self.mesh, in_specs=(spec,), out_specs=spec, check_vma=False
            )
        return (
            jax.jit(
                fn,
                in_shardings=(shardings,),
                out_shardings=(shardings, self.replicated),
                donate_argnums=donate_argnums,
            )
            .lower(state)
            .compile()
        )

    def gather(self, tree: Any) -> Any:
        """``tree`` (e.g. ``learner.agent(state)``) whole in every process as host numpy
        arrays (copies: a later chunk may donate the device buffers), all-gathered over the
        mesh."""
        if self.mesh is None:
            return jax.tree.map(lambda x: np.array(x, copy=True), jax.device_get(tree))
        return gather(tree, self.mesh)


def place(tree: Any, sharding: NamedSharding) -> Any:
    """``tree`` (the same whole value in every process) as global arrays laid out by
    ``sharding``; each process keeps the pieces on its own devices."""
    return jax.tree.map(lambda leaf: _place(leaf, sharding), tree)


def gather(tree: Any, mesh: Mesh) -> Any:
    """``tree`` of arrays laid out over ``mesh`` (whichever processes hold the pieces) as whole
    host numpy arrays in every process."""
    return jax.tree.map(lambda x: np.array(x, copy=True), jax.device_get(_replicator(mesh)(tree)))


@functools.cache
def _replicator(mesh: Mesh) -> Callable[[Any], Any]:
    return jax.jit(lambda tree: tree, out_shardings=NamedSharding(mesh, PartitionSpec()))


def _fresh(leaf: Any) -> jax.Array:
    """A new device array holding ``leaf`` (its own buffer; typed keys stay typed)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        data = _fresh(jax.random.key_data(leaf))
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
    return jnp.array(np.array(jax.device_get(leaf), copy=True))


def _place(leaf: Any, sharding: NamedSharding) -> jax.Array:
    """A global array from ``leaf`` (the whole value, the same in every process)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):  # typed keys travel as their data
        data = _place(jax.random.key_data(leaf), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
    host = np.asarray(jax.device_get(leaf))
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
