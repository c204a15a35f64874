from katib.local.charts import schedule_html
from katib.local.results import ExperimentResult, TrialOutcome


def _result(trials):
    return ExperimentResult("exp", "Succeeded", "", "", "loss", True, trials)


def test_without_hyperband_labels_the_objective_is_drawn_per_trial():
    trials = [TrialOutcome(f"t{i}", {"x": i}, status="Succeeded", objective=1.0 / (i + 1)) for i in range(4)]
    trials.append(TrialOutcome("t-failed", {"x": 9}, status="Failed"))
    page = schedule_html(_result(trials))
    assert "objective per trial" in page and page.count("<circle") == 4


def test_an_experiment_without_objectives_says_so():
    page = schedule_html(_result([TrialOutcome("t", {"x": 1}, status="Failed")]))
    assert "No objective values yet" in page
