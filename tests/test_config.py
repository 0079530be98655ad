import json

import pytest

from gankit.config import Config, set_value, validate
from gankit.errors import ConfigError


def test_round_trip_through_json(tmp_path):
    cfg = Config()
    set_value(cfg, "model.g_hidden", "64,32")
    set_value(cfg, "train.betas", "0.0,0.9")
    cfg.save(tmp_path / "config.json")
    again = Config.load(tmp_path / "config.json")
    assert again == cfg and again.model.g_hidden == (64, 32) and again.train.betas == (0.0, 0.9)


@pytest.mark.parametrize("key,value,message", [
    ("train.stepz", "5", "unknown setting 'train.stepz'"),
    ("train.steps", "five", "must be an integer"),
    ("train.steps", "2.5", "must be an integer"),
    ("train.betas", "0.5", "needs 2"),
    ("data.skip_bad", "maybe", "true or false"),
])
def test_overrides_are_type_checked(key, value, message):
    with pytest.raises(ConfigError, match=message):
        set_value(Config(), key, value)


def test_config_json_with_unknown_key_or_wrong_type(tmp_path):
    d = Config().to_dict()
    d["train"]["lernrate"] = 1
    (tmp_path / "a.json").write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="unknown setting 'train.lernrate'"):
        Config.load(tmp_path / "a.json")
    d = Config().to_dict()
    d["train"]["steps"] = "many"
    (tmp_path / "b.json").write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="train.steps must be an integer"):
        Config.load(tmp_path / "b.json")


def test_config_from_another_format_version(tmp_path):
    d = Config().to_dict()
    d["format_version"] = 99
    (tmp_path / "c.json").write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="format version 99"):
        Config.load(tmp_path / "c.json")


@pytest.mark.parametrize("key,value", [("train.steps", 0), ("train.batch_size", -1),
                                       ("model.latent_dim", 0), ("model.g_hidden", (0,))])
def test_sizes_must_be_positive(key, value):
    cfg = Config()
    set_value(cfg, key, value)
    with pytest.raises(ConfigError, match="must be positive"):
        validate(cfg)
