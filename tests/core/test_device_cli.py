"""Where the heavy steps run (issue 13): the CLI's global ``--device`` / ``--threads`` reach
``core.device`` through the environment before any work, and the neural recommender trains and
scores on ``core.device.torch_device()`` with ``cpu_threads()`` torch threads by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.cli.main import apply_machine_options, build_parser, main
from core.device import ENV_DEVICE, ENV_THREADS, cpu_threads, torch_device
from core.recommend import build_history, make_recommender
from tests.core.test_recommender import TINY_NEURAL, checkerboard_lines


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(ENV_DEVICE, raising=False)
    monkeypatch.delenv(ENV_THREADS, raising=False)
    return monkeypatch


@pytest.mark.parametrize("argv", [["--device", "cpu", "--threads", "2", "mine"],
                                  ["mine", "--device", "cpu", "--threads", "2"]])
def test_device_and_threads_before_or_after_the_command(clean_env, argv):
    import os

    args = build_parser().parse_args(argv)
    assert args.device == "cpu" and args.threads == 2
    clean_env.setenv(ENV_DEVICE, "auto")  # restored after the test
    clean_env.setenv(ENV_THREADS, "1")
    apply_machine_options(args)
    assert os.environ[ENV_DEVICE] == "cpu" and os.environ[ENV_THREADS] == "2"
    assert cpu_threads() == 2 and torch_device() == "cpu"


def test_without_the_options_the_environment_is_left_alone(clean_env):
    import os

    apply_machine_options(build_parser().parse_args(["mine"]))
    assert ENV_DEVICE not in os.environ and ENV_THREADS not in os.environ


@pytest.mark.parametrize("argv,words", [(["--threads", "0", "mine"], "--threads must be"),
                                        (["--device", "tpu", "mine"], "is not known")])
def test_bad_machine_options_are_user_errors(clean_env, capsys, tmp_path, argv, words):
    assert main(argv + ["--workspace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_cuda_without_a_gpu_fails_before_any_work(clean_env, capsys, tmp_path):
    assert main(["--device", "cuda", "mine", "--workspace", str(tmp_path)]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_neural_trains_on_the_chosen_device_with_the_chosen_threads(clean_env):
    history = build_history(checkerboard_lines())
    clean_env.setenv(ENV_THREADS, "1")
    seen = []
    before = torch.get_num_threads()
    m = make_recommender("neural", **{**TINY_NEURAL, "threads": None})
    m.fit(history, progress=lambda f, msg: seen.append(torch.get_num_threads()))
    assert set(seen[:-1]) == {1} and torch.get_num_threads() == before  # restored after fit
    assert m.net_.item_bias.device.type == torch_device().split(":")[0]
    clean_env.setenv(ENV_DEVICE, "cpu")
    a = make_recommender("neural", **TINY_NEURAL).fit(history)
    b = make_recommender("neural", **TINY_NEURAL).fit(history)
    users = list(history.customer_ids[:10])
    assert a.net_.item_bias.device.type == "cpu"
    assert np.array_equal(a.recommend(users, 5)[1], b.recommend(users, 5)[1])


def test_torch_threads_default_to_one_unless_asked(clean_env):
    from core.recommend.runtime import DEFAULT_TORCH_THREADS, thread_count

    assert thread_count(None) == DEFAULT_TORCH_THREADS == 1  # measured faster, see runtime
    assert thread_count(2) == 2
    clean_env.setenv(ENV_THREADS, "3")  # --threads 3
    assert thread_count(None) == 3
