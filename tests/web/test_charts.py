from datetime import date, timedelta

from web.charts import bar_chart, nice_max, rate_chart

DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(30)]


def test_nice_max_rounds_up_to_1_2_5():
    assert [nice_max(v) for v in (0, 1, 3, 37, 120, 500)] == [1, 1, 5, 50, 200, 500]


def test_bar_chart_labels_every_bar_with_its_value():
    chart = bar_chart(chart_id="c", title="t", days=DAYS, values=list(range(30)), y_axis_label="Runs", unit="runs")
    assert [m.label for m in chart.marks] == [str(v) for v in range(30)]


def test_bar_chart_has_a_summary_and_table_rows():
    chart = bar_chart(chart_id="c", title="t", days=DAYS, values=[5] * 29 + [9], y_axis_label="Runs", unit="runs")
    assert "9 on Mar 30" in chart.summary and chart.rows[-1] == ("2026-03-30", 9)


def test_rate_chart_skips_days_without_reviews():
    points = [None] * 29 + [(0.9, 0.6, 0.98, 9, 10)]
    chart = rate_chart(chart_id="c", title="t", days=DAYS, points=points, threshold=0.95)
    assert len(chart.marks) == 1 and chart.marks[0].label == "90" and chart.reference[1] == "step-down threshold 95%"
