from __future__ import annotations

import json
import re

from pathlib import Path

import pytest

from toolkit.config import config_schema, load_config, load_configs
from toolkit.errors import ConfigError

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_experiment_config_loads_and_validates(path):
    configs = load_configs(path)
    assert configs and all(config.name for config in configs)
    assert len({config.name for config in configs}) == len(configs)


def test_seed_configs_hold_out_exactly_the_seed_letter():
    for name in ("tfidf-seed.yaml", "bert-small-seed.yaml"):
        configs = load_configs(EXPERIMENTS / name)
        assert [config.task for config in configs] == ["topic", "actor", "stance"]
        for config in configs:
            assert config.data.split.kind == "holdout"
            assert config.data.split.test_letters == ["kst-28676-307"]


def test_grid_covers_features_classifiers_and_tasks():
    names = {(c.task, c.model.features, c.model.classifier) for c in load_configs(EXPERIMENTS / "tfidf-grid-loo.yaml")}
    assert len(names) == 18


def test_overrides_from_the_command_line():
    config = load_config(EXPERIMENTS / "tfidf-loo.yaml", ["model.C=4", "task=actor"])
    assert config.model.C == 4.0 and config.task == "actor"


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.colour=red", "unknown config key 'model.colour'; allowed keys in model: C, char_ngrams"),
        ("model.classifier=forest", "model.classifier: 'forest' is not allowed; choose one of logreg, svm"),
        ("data.split.kind=random", "data.split.kind"),
        ("model.C=-1", "model.C: must be > 0"),
        ("training.tune={gamma: [1]}", "training.tune.gamma: cannot be tuned for model.kind=tfidf"),
        ("model.word_ngrams=[3, 1]", "model.word_ngrams"),
        ("training.epochs=many", "training.epochs: expected int"),
        ("training.processes=0", "training.processes: must be > 0"),
    ],
)
def test_bad_values_name_the_key_and_the_allowed_values(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(EXPERIMENTS / "tfidf-loo.yaml", [override])


def test_base_chain_and_missing_files(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\ntask: actor\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_the_multi_gpu_config_is_bertje_pinned_to_four_processes():
    multi, single = load_config(EXPERIMENTS / "bert-multigpu.yaml"), load_config(EXPERIMENTS / "bert.yaml")
    assert multi.training.processes == 4 and single.training.processes is None
    assert multi.model == single.model and multi.data == single.data


def test_by_task_settings_apply_to_their_task_only(tmp_path):
    base = "by_task:\n  topic:\n    model:\n      context: section\n      C: 2.0\n"
    (tmp_path / "sweep.yaml").write_text(base + "sweep:\n  task: [stance, topic]\n")
    stance, topic = load_configs(tmp_path / "sweep.yaml")
    assert (stance.model.context, stance.model.C) == ("none", 1.0)
    assert (topic.model.context, topic.model.C) == ("section", 2.0)

    (tmp_path / "single.yaml").write_text(base)
    single = load_config(tmp_path / "single.yaml", ["task=topic", "model.context=none"])  # --set wins over by_task
    assert (single.model.context, single.model.C) == ("none", 2.0)
    with pytest.raises(ConfigError, match="by_task cannot be set with --set"):
        load_config(tmp_path / "single.yaml", ["by_task.topic.model.C=3"])
    (tmp_path / "bad.yaml").write_text("by_task:\n  topic: section\n")
    with pytest.raises(ConfigError, match="by_task must map task names to settings"):
        load_config(tmp_path / "bad.yaml")


def test_the_main_job_and_its_seed_runs_use_context_per_task():
    expected = {"stance": "none", "actor": "letter", "topic": "section+neighbours+letter"}
    for name in ("tfidf-loo.yaml", "tfidf-seed.yaml"):
        contexts = {task: load_config(EXPERIMENTS / name, [f"task={task}"]).model.context for task in expected}
        assert contexts == expected, name
    swept = {c.name: c.model.context for c in load_configs(EXPERIMENTS / "tfidf-context-seed.yaml")}
    assert swept["tfidf-context-seed-actor-none"] == "none"  # a sweep wins over by_task


def test_a_set_on_a_swept_key_picks_that_sweep_point_and_keeps_its_name(tmp_path):
    (tmp_path / "grid.yaml").write_text("sweep:\n  task: [stance, topic]\n  model.classifier: [logreg, svm]\n")
    configs = load_configs(tmp_path / "grid.yaml", ["model.classifier=svm", "model.features=word"])
    assert [(c.name, c.task, c.model.classifier, c.model.features) for c in configs] == [
        ("grid-stance-svm", "stance", "svm", "word"),
        ("grid-topic-svm", "topic", "svm", "word"),
    ]
    with pytest.raises(ConfigError, match="not one of the values this file sweeps"):
        load_configs(tmp_path / "grid.yaml", ["model.classifier=tree"])


def test_one_task_of_a_task_sweep_loads_as_one_config():
    config = load_config(EXPERIMENTS / "tfidf-seed.yaml", ["task=actor"])
    assert (config.name, config.task) == ("tfidf-seed-actor", "actor")


def test_tuning_is_refused_for_a_model_kind_that_cannot_tune():
    with pytest.raises(ConfigError, match="training.tune.learning_rate: cannot be tuned for model.kind=transformer"):
        load_config(EXPERIMENTS / "bert.yaml", ["training.tune={learning_rate: [1.0e-5, 3.0e-5]}"])


def test_every_experiment_file_loads():
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        assert load_configs(path), path


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.seeds=[0, x]", "training.seeds.1: expected integer"),
        ("training.warmup_ratio=3", "training.warmup_ratio: must be < 1"),
        ("data.split.n_splits=1", "data.split.n_splits: must be ≥ 2"),
        ("training.epochs=true", "training.epochs: expected a number, not true/false"),
        ("data.parts=[annex, annex]", "data.parts"),
        ("data.parts=[preface]", "data.parts.0: 'preface' is not allowed"),
    ],
)
def test_element_types_ranges_and_cross_field_rules_name_the_file_and_key(override, message):
    with pytest.raises(ConfigError, match=r"tfidf-loo\.yaml: .*" + re.escape(message)):
        load_config(EXPERIMENTS / "tfidf-loo.yaml", [override])


def test_numbers_in_any_yaml_notation():
    assert load_config(EXPERIMENTS / "tfidf-loo.yaml", ["model.C=1e-3"]).model.C == pytest.approx(0.001)
    assert load_config(EXPERIMENTS / "bert.yaml", ["training.learning_rate=3e-5"]).training.learning_rate == pytest.approx(3e-5)


def test_a_yaml_syntax_error_names_the_file(tmp_path):
    (tmp_path / "broken.yaml").write_text("model:\n  C: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_config(tmp_path / "broken.yaml")


def test_the_json_schema_for_editors_is_up_to_date():
    path = EXPERIMENTS / "config.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == config_schema(), "run: toolkit config-schema > experiments/config.schema.json"
