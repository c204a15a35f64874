"""Static checks of every images/*/Dockerfile (no Docker on our machines, so nothing is built here).

Each Dockerfile is parsed into stages and instructions and checked for what a cluster relies on: pinned
base images, a numeric non-root user (Kubernetes ``runAsNonRoot`` can only verify a number), an exec-form
entry point whose executable and ``-m`` module the image really has, COPY sources that exist, no pip
cache left in layers, and names that agree with ``make images``, components/runtime.py, the generated
manifests and the compiled pipelines.
"""

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted(REPO.glob("images/*/Dockerfile"))
IDS = [path.parent.name for path in DOCKERFILES]

#: What each known image must run. Images not listed here get the generic checks only.
EXPECTED = {
    "runtime": {"name": "kwp-runtime", "executable": "kwp", "module": None},
    "trainer": {"name": "kwp-trainer", "executable": "torchrun", "module": "components.train"},
    "katib-suggestion": {
        "name": "kwp-hyperband-suggestion",
        "executable": "python",
        "module": "katib.suggestion",
    },
    "darts-trial": {"name": "kwp-darts-trial", "executable": "python", "module": "katib.darts"},
}
PINNED_TAG = re.compile(r"^v?\d+\.\d+\.\d+")
KATIB_SUGGESTION_PORT = 6789  # the port Katib's controller dials on every suggestion Deployment


@dataclass
class Instruction:
    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """ENTRYPOINT/CMD as a list; shell form is refused (PID 1 would be sh, deaf to SIGTERM)."""
        words = json.loads(self.value) if self.value.startswith("[") else None
        if not isinstance(words, list):
            raise AssertionError(f"{self.keyword} {self.value!r} is not in exec form (JSON list)")
        return words


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str | None]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def label(self) -> str:
        return str(self.path.relative_to(REPO)) if self.path.is_relative_to(REPO) else str(self.path)

    def instructions(self, keyword: str) -> list[Instruction]:
        return [i for stage in self.stages for i in stage.all(keyword)]


def logical_lines(text: str) -> list[str]:
    """Instructions with continuation lines joined and comment lines dropped, as Docker reads them."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def substitute(text: str, args: dict[str, str | None]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if args.get(name) is None:
            raise AssertionError(f"${name} has no default value: the image would not build reproducibly")
        return str(args[name])

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def parse(path: Path) -> Dockerfile:
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, value = line.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "ARG" and not stages:
            name, sep, default = value.partition("=")
            global_args[name] = default if sep else None
        elif keyword == "FROM":
            words = [w for w in value.split() if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(substitute(words[0], global_args), name))
        else:
            assert stages, f"{path}: {keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, value))
    assert stages, f"{path} has no FROM"
    return Dockerfile(path, global_args, stages)


@pytest.fixture(params=DOCKERFILES, ids=IDS)
def dockerfile(request) -> Dockerfile:
    return parse(request.param)


def copy_sources(instruction: Instruction) -> list[str]:
    """Repository paths a COPY/ADD reads; ``--from=stage`` copies read another stage instead."""
    words = (
        json.loads(instruction.value) if instruction.value.startswith("[") else shlex.split(instruction.value)
    )
    if any(w.startswith("--from") for w in words):
        return []
    words = [w for w in words if not w.startswith("--")]
    return words[:-1]


def module_file(module: str) -> Path | None:
    """The file ``python -m module`` would run, if the repository has it."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base / "__main__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def copied_into(dockerfile: Dockerfile, repo_file: Path) -> bool:
    """Whether some COPY of the Dockerfile brings ``repo_file`` in, itself or with one of its folders."""
    wanted = {repo_file, *repo_file.parents}
    return any(
        source.rstrip("/") in (".", "") or wanted & set(REPO.glob(source.rstrip("/")))
        for instruction in dockerfile.instructions("COPY") + dockerfile.instructions("ADD")
        for source in copy_sources(instruction)
    )


def command_of(stage: Stage) -> list[str]:
    entrypoint, cmd = stage.last("ENTRYPOINT"), stage.last("CMD")
    return (entrypoint.exec_form() if entrypoint else []) + (cmd.exec_form() if cmd else [])


def modules_run_by(command: list[str]) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command[:-1]) if word == "-m"]


def pyproject() -> dict:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs Python 3.11 (tomllib)")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def makefile_images() -> dict[str, str]:
    """Dockerfile path -> image name:tag of each ``docker build`` in the Makefile's ``images`` target."""
    text = (REPO / "Makefile").read_text()
    defaults = dict(re.findall(r"^(\w+)\s*\?=\s*(\S+)\s*$", text, flags=re.M))
    recipe = re.search(r"^images:.*\n((?:\t.*\n?)+)", text, flags=re.M)
    assert recipe, "the Makefile has no `images` target"
    built = {}
    for line in recipe.group(1).splitlines():
        words = shlex.split(line.strip())
        if words[:2] != ["docker", "build"]:
            continue
        assert words[-1] == ".", f"{line.strip()!r}: build from the repository root (context '.')"
        tag = words[words.index("-t") + 1]
        built[words[words.index("-f") + 1]] = re.sub(r"\$\((\w+)\)", lambda m: defaults[m.group(1)], tag)
    return built


def our_images() -> dict[str, str]:
    """components/runtime.py's image constants, e.g. ``TRAINER_IMAGE`` -> the full reference."""
    from components import runtime

    return {name: value for name, value in vars(runtime).items() if name.endswith("_IMAGE")}


def dockerfile_for(image: str) -> Dockerfile:
    by_tag = {tag: path for path, tag in makefile_images().items()}
    name_and_tag = image.rsplit("/", 1)[-1]
    matches = [path for tag, path in by_tag.items() if tag.rsplit("/", 1)[-1] == name_and_tag]
    assert matches, f"{image} is not built by `make images` ({sorted(by_tag.values())})"
    assert (REPO / matches[0]).is_file(), f"{image} is built from {matches[0]}, which does not exist"
    return parse(REPO / matches[0])


def assert_runnable(dockerfile: Dockerfile, command: list[str], where: str) -> None:
    """The executable is one the image has, and every ``-m`` module is a file copied into the image."""
    executable = command[0]
    scripts = pyproject()["project"]["scripts"]
    dependencies = " ".join(pyproject()["project"]["dependencies"])
    if executable in ("kwp", "torchrun"):  # console scripts of the package and of its torch dependency
        assert "kwp" in scripts and re.search(r"\btorch\b", dependencies), f"{where}: check pyproject.toml"
        assert copied_into(dockerfile, REPO / "pyproject.toml"), f"{where}: the package is not installed"
    else:
        assert executable in ("python", "python3"), f"{where}: {executable!r} is not provided by the image"
    for module in modules_run_by(command):
        path = module_file(module)
        assert path, f"{where}: `-m {module}` has no {module.replace('.', '/')}/__main__.py in the repository"
        relative = path.relative_to(REPO)
        assert copied_into(dockerfile, path), f"{where}: {relative} is not copied into the image"


# --- every Dockerfile ---------------------------------------------------------------------------------


def test_there_are_dockerfiles_for_the_known_images():
    assert {"runtime", "trainer", "katib-suggestion"} <= set(IDS)


def check_base_images_pinned(dockerfile: Dockerfile) -> None:
    stage_names = set()
    for stage in dockerfile.stages:
        if stage.base not in stage_names:
            image = stage.base.split("@")[0]
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            assert "@sha256:" in stage.base or PINNED_TAG.match(tag), (
                f"{dockerfile.label}: FROM {stage.base} is not pinned to a version tag "
                f"(like python:3.11.11-slim-bookworm) or a digest"
            )
        if stage.name:
            stage_names.add(stage.name)


def check_numeric_non_root_user(dockerfile: Dockerfile) -> None:
    user = dockerfile.final.last("USER")
    assert user, f"{dockerfile.label}: the final stage sets no USER (it would run as root)"
    uid = user.value.split(":")[0]
    assert uid.isdigit(), f"{dockerfile.label}: USER {user.value}: a numeric UID lets runAsNonRoot verify it"
    assert int(uid) != 0, f"{dockerfile.label}: USER {user.value} is root"


def check_entry_point(dockerfile: Dockerfile) -> None:
    command = command_of(dockerfile.final)
    assert command, f"{dockerfile.label}: no ENTRYPOINT or CMD"
    assert_runnable(dockerfile, command, dockerfile.label)


def check_copy_sources(dockerfile: Dockerfile) -> None:
    names = {stage.name for stage in dockerfile.stages if stage.name}
    for instruction in dockerfile.instructions("COPY") + dockerfile.instructions("ADD"):
        where = f"{dockerfile.label}: {instruction.keyword} {instruction.value}"
        assert "://" not in instruction.value, f"{where}: download in a RUN, pinned"
        stage = re.search(r"--from=(\S+)", instruction.value)
        assert not stage or stage.group(1) in names, f"{where}: no stage named {stage.group(1)}"
        for source in copy_sources(instruction):
            assert source.rstrip("/") not in (".", ""), f"{where}: copies the whole tree (venvs, .git)"
            assert list(REPO.glob(source)), f"{where}: {source} is not in the repository"


def check_no_package_cache(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages:
        no_pip_cache = any("PIP_NO_CACHE_DIR=1" in env.value for env in stage.all("ENV"))
        for run in stage.all("RUN"):
            where = f"{dockerfile.label}: RUN {run.value}"
            if re.search(r"\bpip3? install\b", run.value):
                assert no_pip_cache or "--no-cache-dir" in run.value, f"{where}: keeps the pip cache"
            if re.search(r"\bapt-get install\b", run.value):
                assert "rm -rf /var/lib/apt/lists" in run.value, f"{where}: keeps the apt lists"


CHECKS = [
    check_base_images_pinned,
    check_numeric_non_root_user,
    check_entry_point,
    check_copy_sources,
    check_no_package_cache,
]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_dockerfile(dockerfile, check):
    check(dockerfile)


GOOD = """ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
FROM ${PYTHON_IMAGE} AS build
COPY katib ./katib
FROM ${PYTHON_IMAGE}
ENV PIP_NO_CACHE_DIR=1
COPY --from=build /src /src
RUN pip install grpcio==1.60.0
USER 1000
ENTRYPOINT ["python", "-m", "katib.suggestion"]
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm", "ARG PYTHON_IMAGE=python:latest", "not pinned"),
        ("ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm", "ARG PYTHON_IMAGE=python", "not pinned"),
        ("ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm", "ARG PYTHON_IMAGE=python:3.11-slim", "not pinned"),
        ("ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm", "ARG PYTHON_IMAGE", "has no default value"),
        ("USER 1000", "USER root", "a numeric UID"),
        ("USER 1000", "USER 0:0", "is root"),
        ("USER 1000", "", "sets no USER"),
        ('["python", "-m", "katib.suggestion"]', "python -m katib.suggestion", "exec form"),
        ('"katib.suggestion"', '"katib.nothing"', "no katib/nothing/__main__.py"),
        ('"katib.suggestion"', '"components.train"', "components/train/__main__.py is not copied"),
        ('"python", "-m", "katib.suggestion"', '"kwp"', "the package is not installed"),
        ('"python", ', '"bash", ', "'bash' is not provided"),
        ("COPY katib ./katib", "COPY katib missing.txt ./", "missing.txt is not in the repository"),
        ("COPY katib ./katib", "COPY . /app", "copies the whole tree"),
        ("--from=build", "--from=builder", "no stage named builder"),
        ("ENV PIP_NO_CACHE_DIR=1", "ENV PYTHONUNBUFFERED=1", "keeps the pip cache"),
        ("RUN pip", "RUN apt-get install -y git && pip", "keeps the apt lists"),
    ],
)
def test_the_checks_catch_a_broken_dockerfile(tmp_path, old, new, message):
    path = tmp_path / "Dockerfile"
    path.write_text(GOOD)
    for check in CHECKS:
        check(parse(path))
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(AssertionError, match=re.escape(message)):
        for check in CHECKS:
            check(parse(path))


def test_makefile_images_target_builds_every_dockerfile():
    built = makefile_images()
    for path in DOCKERFILES:
        assert str(path.relative_to(REPO)) in built, f"`make images` does not build {path.relative_to(REPO)}"
    for path in built:
        assert (REPO / path).is_file(), f"`make images` builds {path}, which does not exist"


def test_component_image_names_are_the_ones_make_images_tags():
    from components import runtime

    built = set(makefile_images().values())
    names = {tag.rsplit("/", 1)[1] for tag in built}
    for constant, image in our_images().items():
        assert image.rsplit("/", 1)[1] in names, f"components.runtime.{constant} = {image}; make tags {built}"
    registries = {tag.rsplit("/", 1)[0] for tag in built}
    if "KWP_IMAGE_REGISTRY" not in os.environ:
        assert registries == {runtime.REGISTRY}, f"make tags {registries}, components pull {runtime.REGISTRY}"
    assert {tag.rsplit(":", 1)[1] for tag in built} == {runtime.VERSION}, "IMAGE_TAG differs from VERSION"


# --- what each known image must be --------------------------------------------------------------------


KNOWN = [path for path in DOCKERFILES if path.parent.name in EXPECTED]


@pytest.mark.parametrize("path", KNOWN, ids=[path.parent.name for path in KNOWN])
def test_known_image_is_named_and_runs_what_the_code_expects(path):
    expected, dockerfile = EXPECTED[path.parent.name], parse(path)
    tag = makefile_images()[str(path.relative_to(REPO))]
    assert tag.rsplit("/", 1)[-1].split(":")[0] == expected["name"], tag
    command = command_of(dockerfile.final)
    assert command[0] == expected["executable"], command
    if expected["module"]:
        assert expected["module"] in modules_run_by(command), command


def test_runtime_image_installs_the_package_with_the_tested_pins():
    dockerfile = parse(REPO / "images/runtime/Dockerfile")
    runs = " ".join(run.value for run in dockerfile.final.all("RUN"))
    assert "-c /tmp/constraints.txt" in runs and ".whl" in runs, runs
    # kfp comes with the package (a dependency), and the components are compiled with
    # install_kfp_package=False, so the image must bring it.
    assert any(dep.startswith("kfp") for dep in pyproject()["project"]["dependencies"])
    assert "download.pytorch.org/whl/cpu" in dockerfile.path.read_text(), "the runtime image is CPU-only"


def test_runtime_image_lets_its_user_write_where_the_kfp_launcher_stages_artifacts():
    dockerfile = parse(REPO / "images/runtime/Dockerfile")
    uid = dockerfile.final.last("USER").value.split(":")[0]
    runs = " && ".join(run.value for run in dockerfile.final.all("RUN"))
    for directory in ("/gcs", "/minio", "/s3"):
        assert re.search(rf"mkdir -p [^&]*{directory}\b", runs), f"{directory} is not created"
        assert re.search(rf"chown {uid}(:{uid})? [^&]*{directory}\b", runs), f"{directory} is not {uid}'s"


def test_trainer_image_uses_the_cuda_build_of_torch():
    text = (REPO / "images/trainer/Dockerfile").read_text()
    assert "whl/cpu" not in text
    assert "-c /tmp/constraints.txt" in text


def test_katib_suggestion_image_installs_its_own_requirements_not_kfp():
    dockerfile = parse(REPO / "images/katib-suggestion/Dockerfile")
    requirements = (REPO / "images/katib-suggestion/requirements.txt").read_text()
    copies = [copy_sources(c) for c in dockerfile.instructions("COPY")]
    assert ["images/katib-suggestion/requirements.txt"] in copies
    runs = [run.value for run in dockerfile.instructions("RUN") if "pip install" in run.value]
    assert runs and all("-r " in run and "kfp" not in run and ".whl" not in run for run in runs), runs
    names = [re.split(r"[=<>~! ;\[]", line.strip())[0] for line in requirements.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert "kubeflow-katib" in names and not any(n.startswith("kfp") for n in names), names
    assert not any(copied_into(dockerfile, REPO / f) for f in ("pyproject.toml", "components/runtime.py"))
    assert str(KATIB_SUGGESTION_PORT) in [e.value for e in dockerfile.instructions("EXPOSE")]
    command = command_of(dockerfile.final)
    assert command[command.index("--port") + 1] == str(KATIB_SUGGESTION_PORT)


REQUIREMENTS = sorted(REPO.glob("images/*/requirements.txt"))


@pytest.mark.parametrize(
    "path",
    REQUIREMENTS,
    ids=[p.parent.name for p in REQUIREMENTS],
)
def test_image_requirements_are_pinned(path):
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    loose = [line for line in lines if line and "==" not in line]
    assert not loose, f"{path.relative_to(REPO)}: pin these with ==: {loose}"


# --- the images the generated manifests and compiled pipelines refer to --------------------------------


def _containers(node):
    if isinstance(node, dict):
        if isinstance(node.get("image"), str):
            yield node
        for value in node.values():
            yield from _containers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _containers(value)


def test_manifest_containers_run_commands_their_image_has():
    from pipelines.manifests import render_tree

    ours = set(our_images().values())
    checked = 0
    for path, text in render_tree().items():
        for container in _containers(yaml.safe_load(text)):
            image = container["image"]
            if image not in ours:
                assert "kubeflow-warehouse-pipelines" not in image, f"{path}: unknown kwp image {image}"
                continue
            dockerfile = dockerfile_for(image)
            configured = list(container.get("command") or [])
            command = configured or command_of(dockerfile.final)
            assert_runnable(dockerfile, command, f"{path} ({image})")
            checked += 1
    assert checked >= 3  # PyTorchJob, TrainJob, Katib trials and the suggestion service at least


def test_compiled_pipelines_use_only_images_that_make_images_builds(tmp_path):
    from pipelines.compile import compile_pipeline
    from pipelines.registry import PIPELINES

    for name in PIPELINES:
        spec = next(yaml.safe_load_all(compile_pipeline(name, tmp_path).read_text()))
        images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
        assert images and images <= set(our_images().values()), (name, images)
        for image in images:
            # KFP runs lightweight components as `sh -c "... python3 -m kfp.dsl.executor_main ..."`.
            assert dockerfile_for(image).final.base.startswith("python:"), f"{image}: python3 and sh needed"
