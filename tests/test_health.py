"""The training health monitor: each detector fires on a run built to have its failure, stays
quiet on a healthy run, and its actions survive a resume bit for bit."""

import json
import math

import pytest
import torch

import gankit
from gankit.cli.main import main
from gankit.config import Config, set_value
from gankit.errors import ConfigError, TrainingError
from gankit.losses import LOSSES
from gankit.training import Callback
from gankit.training import health as H
from gankit.training.checkpoint import BEST, G_FILE, list_checkpoints, load_weights

# Checks every 10 steps, judged from step 20, two bad checks in a row to fire.
WATCH = {"health.every": 10, "health.warmup": 20, "health.patience": 2}


def ring8(steps=60, **extra):
    cfg = Config()
    for key, value in {"data.name": "ring8", "model.name": "mlp", "train.steps": steps,
                       "train.batch_size": 64, "train.log_every": 10, "train.sample_every": 10000,
                       "train.checkpoint_every": 10000, "model.latent_dim": 8,
                       "model.g_hidden": (32, 32), "model.d_hidden": (32,),
                       "model.maxout_pieces": 2, "train.lr_g": 1e-3, "train.lr_d": 1e-3,
                       **WATCH, **extra}.items():
        set_value(cfg, key, value)
    return cfg


def digits(steps=60, **extra):
    return ring8(steps, **{"data.name": "digits", "model.name": "dcgan", "model.width": 8,
                           "model.latent_dim": 16, "train.batch_size": 32, **extra})


def events(run_dir):
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()
            if "health" in json.loads(line)]


class ConstantG(Callback):
    """Zero the weights of G's output layer: G(z) is its bias, the same for every z."""

    def on_start(self, trainer):
        layers = [m for m in trainer.gan.G.modules() if getattr(m, "weight", None) is not None]
        with torch.no_grad():
            [w for w in (m.weight for m in layers) if w.dim() > 1][-1].zero_()


class Record(Callback):
    """A user's own tracker: keeps every step's stats as floats."""

    def __init__(self):
        self.started = self.ended = False
        self.steps: list[dict[str, float]] = []

    def on_start(self, trainer):
        self.started = True

    def on_step(self, trainer, stats):
        self.steps.append({"step": trainer.step, **{k: float(v) for k, v in stats.items()}})

    def on_end(self, trainer):
        self.ended = True


@pytest.fixture(autouse=True)
def no_cached_classifier(tmp_path, monkeypatch):
    """Diversity uses the domain classifier only when the cache holds one: start without."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))


# --- signals ---------------------------------------------------------------------------------
def test_signal_functions_on_hand_made_tensors():
    assert H.spread(torch.tensor([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)
    assert H.spread(torch.ones(5, 3)) == 0.0
    assert H.entropy(torch.tensor([0, 1, 2, 3]), 4) == pytest.approx(math.log(4))
    assert H.entropy(torch.tensor([2, 2, 2]), 4) == 0.0
    x = torch.cat([torch.zeros(5, 2), torch.full((3, 2), 10.0)])
    assert set(H.near_duplicates(x, 5).tolist()) == {0, 1, 2, 3, 4}
    net = torch.nn.Linear(2, 1)
    net.weight.grad, net.bias.grad = torch.full((1, 2), 3.0), torch.full((1,), 4.0)
    assert float(H.grad_norm(net)) == pytest.approx(torch.tensor([3.0, 3.0, 4.0]).norm().item())


def test_feature_space_uses_a_cached_classifier_and_never_trains_one(tmp_path):
    from safetensors.torch import save_file

    from gankit.data import load_dataset
    from gankit.metrics import classifier as C

    data = load_dataset("digits")
    assert H.feature_space(data, "image").name == "pixels"
    assert not (tmp_path / "cache").exists()  # looked, trained nothing, wrote nothing
    _, _, weights, record, _ = C._cache_entry(data, C.ClassifierSettings(), None)
    weights.parent.mkdir(parents=True)
    save_file(C.DomainClassifier(1, 10).state_dict(), weights)
    record.write_text("{}")
    space = H.feature_space(data, "image")
    assert space.name == "domain classifier features" and space.num_classes == 10
    features, labels = space.embed(data.x[:5])
    assert features.shape == (5, 128) and labels.shape == (5,)


# --- quiet on a healthy run; a user callback sees every signal -------------------------------
def test_healthy_run_is_quiet_and_its_signals_reach_user_callbacks(tmp_path):
    record = Record()
    cfg = digits(60, **{"health.collapse": "act", "health.vanishing": "act"})
    run = gankit.train(cfg, tmp_path / "ok", progress=False, callbacks=[record])
    assert run.step == 60 and run.stop_reason == ""
    assert events(tmp_path / "ok") == []
    report = (tmp_path / "ok" / "health.txt").read_text()
    assert "events: none" in report and "diversity measured in: pixels" in report
    assert record.started and record.ended and len(record.steps) == 60
    every_step = {"loss_d", "d_acc_fake", "grad_norm_g", "grad_norm_d"}
    assert all(every_step <= s.keys() for s in record.steps)
    checks = [s for s in record.steps if "diversity" in s]
    assert [s["step"] for s in checks] == [10, 20, 30, 40, 50, 60]
    assert checks[-1]["diversity"] > 0.2 and all(s["grad_norm_g"] > 0 for s in record.steps)
    logged = json.loads((tmp_path / "ok" / "log.jsonl").read_text().splitlines()[-1])
    assert {"grad_norm_g", "grad_norm_d", "diversity"} <= logged.keys()


# --- mode collapse ---------------------------------------------------------------------------
def test_collapse_warns_with_numbers_and_a_picture(tmp_path):
    out = tmp_path / "const"
    run = gankit.train(ring8(40, **{"train.lr_g": 1e-9}), out, progress=False,
                       callbacks=[ConstantG()])
    assert run.step == 40  # warn: training goes on
    [event] = events(out)
    assert event["health"] == "collapse" and event["step"] == 30 and event["level"] == "warn"
    assert "diversity 0.000 of the data's" in event["message"]
    assert "class entropy 0.000" in event["message"] and "--pack 2" in event["message"]
    assert (out / "health" / "collapse-step-00000030.png").is_file()
    assert "step 30 collapse (warn)" in (out / "health.txt").read_text()


def test_collapse_act_stops_an_image_run_and_draws_the_duplicates(tmp_path):
    from PIL import Image

    out = tmp_path / "const"
    run = gankit.train(digits(60, **{"train.lr_g": 1e-9, "health.collapse": "act"}), out,
                       progress=False, callbacks=[ConstantG()])
    assert run.step == 30 and run.stop_reason == "mode collapse"
    assert list_checkpoints(out)[-1].name == "step-00000030"  # stopped like Ctrl-C: saved
    grid = Image.open(out / "health" / "collapse-step-00000030.png")
    assert grid.size[0] > 64  # 64 near-identical 8 x 8 samples, upscaled


# --- vanishing gradients ---------------------------------------------------------------------
PERFECT_D = {"train.loss": "minimax", "train.lr_g": 1e-5, "train.lr_d": 5e-2, "train.d_steps": 5,
             "health.collapse": "off"}


def test_vanishing_gradients_warn_and_equilibrium_stays_quiet_when_d_wins(tmp_path):
    out = tmp_path / "perfect"
    run = gankit.train(ring8(40, **PERFECT_D, **{"health.equilibrium": "act",
                                               "health.equilibrium_window": 10}),
                       out, progress=False)
    assert run.step == 40 and run.stop_reason == ""  # no equilibrium: D is right 100% of the time
    [event] = events(out)
    assert event["health"] == "vanishing" and event["step"] == 30
    assert "D rejects 100.0% of the fakes" in event["message"]
    assert run.gan.loss is LOSSES.get("minimax")  # warn changes nothing


@pytest.mark.parametrize("action,check", [
    ("nonsaturating", lambda run, trainer: run.gan.loss is LOSSES.get("nonsaturating")),
    ("d_steps", lambda run, trainer: trainer.cfg.d_steps == 2),
    ("noise", lambda run, trainer: trainer.instance_noise.std == 0.1),
])
def test_vanishing_gradients_act(tmp_path, action, check):
    class Keep(Callback):
        def on_start(self, trainer):
            self.trainer = trainer

    keep = Keep()
    run = gankit.train(ring8(40, **PERFECT_D, **{"health.vanishing": "act",
                                               "health.vanishing_action": action}),
                       tmp_path / action, progress=False, callbacks=[keep])
    [event] = events(tmp_path / action)
    assert event["level"] == "act" and event["step"] == 30, event
    assert check(run, keep.trainer), event


def test_health_actions_and_state_resume_bit_identically(tmp_path):
    """Instance noise switched on at step 30 (with its own RNG stream), then a stop at 35 and a
    resume: the same weights as 50 steps in one go."""
    class StopAt(Callback):
        def on_step(self, trainer, stats):
            trainer.stop_requested = trainer.stop_requested or trainer.step == 35

    def weights(run):
        return [t for m in (run.G, run.D) for t in m.state_dict().values()]

    def cfg():
        return ring8(50, **PERFECT_D, **{"health.vanishing": "act", "health.vanishing_action": "noise"})
    straight = gankit.train(cfg(), tmp_path / "a", progress=False)
    assert gankit.train(cfg(), tmp_path / "b", progress=False, callbacks=[StopAt()]).step == 35
    resumed = gankit.train(cfg(), tmp_path / "b", resume=True, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(weights(straight), weights(resumed)))
    assert [e["step"] for e in events(tmp_path / "b")] == [30]  # not noticed twice


# --- divergence ------------------------------------------------------------------------------
DIVERGING = {"train.optimizer": "sgd", "train.lr_g": 5.0, "train.lr_d": 5.0, "health.every": 2,
             "health.collapse": "off", "health.vanishing": "off"}


def test_divergence_rolls_back_lowers_the_learning_rates_and_finishes(tmp_path):
    out = tmp_path / "nan"
    run = gankit.train(ring8(30, **DIVERGING, **{"health.lr_factor": 0.001}), out, progress=False)
    assert run.step == 30
    [event] = events(out)
    assert event["health"] == "divergence" and "NaN or infinite" in event["message"]
    assert "rolled back to step 0 (the starting weights)" in event["message"]
    assert all(torch.isfinite(p).all() for p in run.G.parameters())
    state = json.loads((list_checkpoints(out)[-1] / "state.json").read_text())
    assert state["state"]["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.005)  # kept


def test_a_loss_spike_rolls_back_to_the_newest_checkpoint(tmp_path):
    class Spike(Callback):
        def on_step(self, trainer, stats):
            if trainer.step == 33:
                with torch.no_grad():
                    for p in trainer.gan.D.parameters():
                        p.mul_(300.0)

    out = tmp_path / "spike"
    run = gankit.train(ring8(40, **{"train.checkpoint_every": 10, "health.every": 2,
                                    "health.collapse": "off"}), out,
                       progress=False, callbacks=[Spike()])
    [event] = events(out)
    assert "spiked" in event["message"]
    assert "rolled back to step 30 (step-00000030)" in event["message"]
    assert run.step == 40


def test_divergence_beyond_the_rollbacks_is_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "nan"
    code = main(["train", "--data", "ring8", "--model", "mlp", "--steps", "30", "--out", str(out),
                 "--quiet", "--optimizer", "sgd", "--lr", "5", "--checkpoint-every", "2",
                 "--set", "model.g_hidden=32", "--set", "model.d_hidden=16",
                 "--set", "health.every=2", "--set", "health.rollbacks=2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("gankit train: error: training diverged at step")
    assert "after 2 rollbacks" in err[-1] and "newest healthy checkpoint is" in err[-1]
    assert sum("rolled back" in line for line in err) == 2
    assert "no rollbacks left" in (out / "health.txt").read_text()
    assert all(torch.isfinite(p).all() for p in gankit.load(out).G.parameters())


# --- equilibrium -----------------------------------------------------------------------------
def test_stop_at_equilibrium_says_so_and_exits_0(tmp_path, capsys):
    out = tmp_path / "eq"
    code = main(["train", "--data", "ring8", "--model", "mlp", "--steps", "200", "--out", str(out),
                 "--quiet", "--latent-dim", "8", "--set", "model.g_hidden=32,32",
                 "--set", "model.d_hidden=32", "--set", "model.maxout_pieces=2",
                 "--stop-at-equilibrium", "--set", "health.every=5", "--set", "health.warmup=0",
                 "--set", "health.equilibrium_tol=0.1", "--set", "health.equilibrium_window=20"])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert "equilibrium" in stdout and "stopped at step" in stdout
    [event] = events(out)
    assert event["health"] == "equilibrium" and event["step"] < 200
    assert gankit.load(out).step == event["step"]
    assert json.loads((out / "config.json").read_text())["health"]["equilibrium"] == "act"


# --- periodic evaluation keeps the best checkpoint -------------------------------------------
def test_eval_every_logs_the_metric_and_keeps_the_best_checkpoint(tmp_path):
    out = tmp_path / "best"
    cfg = ring8(40, **{"health.eval_every": 10, "health.eval_metric": "modes",
                       "health.eval_samples": 500, "health.best_by": "high_quality_fraction",
                       "train.checkpoint_every": 10, "train.keep_checkpoints": 1})
    gankit.train(cfg, out, progress=False)
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    scores = {r["step"]: r["eval_high_quality_fraction"] for r in logged
              if "eval_high_quality_fraction" in r}
    assert sorted(scores) == [10, 20, 30, 40]
    best_step = max(scores, key=lambda s: (scores[s], -s))  # the first of the best
    record = json.loads((out / BEST / "best.json").read_text())
    assert record["step"] == best_step and record["key"] == "high_quality_fraction"
    [best] = list_checkpoints(out, BEST)
    assert best.name == f"step-{best_step:08d}"
    assert [p.name for p in list_checkpoints(out)] == ["step-00000040"]  # keep 1, and the best
    load_weights(gankit.load(out).G, best / G_FILE)


def test_health_settings_are_checked(tmp_path):
    for key, value, message in [("health.vanishing_action", "pray", "unknown vanishing action"),
                                ("health.eval_metric", "nosuch", "unknown metric 'nosuch'")]:
        cfg = ring8(5, **{"health.eval_every": 5, "health.eval_metric": "modes", key: value})
        with pytest.raises(ConfigError, match=message):
            gankit.train(cfg, tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
    with pytest.raises(TrainingError):
        raise TrainingError("a GankitError subclass")


def test_train_help_lists_the_new_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for flag in ("--stop-at-equilibrium", "--eval-every", "--eval-metric", "--tensorboard",
                 "--no-download"):
        assert flag in out
