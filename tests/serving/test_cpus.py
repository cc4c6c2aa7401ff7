"""The CPU cores the process may use: affinity, capped by a container's CPU quota."""
from painting_classifier.serving import cpus


def test_cgroup_v2_quota_is_read_in_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpus.cgroup_quota(tmp_path / "cpu.max", (tmp_path / "none", tmp_path / "none")) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpus.cgroup_quota(tmp_path / "cpu.max", (tmp_path / "none", tmp_path / "none")) is None


def test_cgroup_v1_quota_is_read_and_minus_one_means_none(tmp_path):
    quota, period = tmp_path / "quota", tmp_path / "period"
    quota.write_text("200000\n")
    period.write_text("100000\n")
    assert cpus.cgroup_quota(tmp_path / "no cpu.max", (quota, period)) == 2.0
    quota.write_text("-1\n")
    assert cpus.cgroup_quota(tmp_path / "no cpu.max", (quota, period)) is None


def test_a_quota_caps_the_cores_and_rounds_up(monkeypatch):
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    monkeypatch.setattr(cpus, "cgroup_quota", lambda: 2.5)
    assert cpus.usable_cpus() == 3
    monkeypatch.setattr(cpus, "cgroup_quota", lambda: None)
    assert cpus.usable_cpus() == 8
