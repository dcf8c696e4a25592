"""display() in a real kernel: a Spark DataFrame (the kit's local spark), pandas, anything else."""
from __future__ import annotations

import pytest

from runtime_fixtures import make_notebook, run

pytestmark = pytest.mark.slow


def test_display_renders_spark_pandas_and_other_objects(tmp_path):
    nb = make_notebook(tmp_path / "display.ipynb", [
        'display(spark.range(25).selectExpr("id", "id * 2 AS doubled", "IF(id = 0, NULL, \'<b>\') AS note"))',
        'display(spark.range(2))',
        'import pandas as pd\ndisplay(pd.DataFrame({"a": [1, 2]}))',
        'display({"plain": 1})',
        'from course.runtime import displayHTML\ndisplayHTML("<h3>hello</h3>")',
    ], observe=False)
    result = run(nb, tmp_path / "out.ipynb")
    spark_cell, small_cell, pandas_cell, plain_cell, html_cell = [c.outputs for c in result.cells[-5:]]

    (big,) = [o for o in spark_cell if o["output_type"] == "display_data"]
    table = big["data"]["text/html"]
    assert "<th>id</th><th>doubled</th><th>note</th>" in table
    assert table.count("<tr>") == 1 + 20                         # header + first 20 rows
    assert "<td>0</td><td>0</td><td>null</td>" in table           # NULL shown as null
    assert "&lt;b&gt;" in table                                   # values are escaped
    assert "Showing the first 20 rows." in table
    assert "| id | doubled | note |" in big["data"]["text/plain"]

    (small,) = [o for o in small_cell if o["output_type"] == "display_data"]
    assert "2 rows." in small["data"]["text/html"]

    assert '<table border="1" class="dataframe">' in pandas_cell[0]["data"]["text/html"]
    assert plain_cell[0]["data"] == {"text/plain": "{'plain': 1}"}
    assert html_cell[0]["data"]["text/html"] == "<h3>hello</h3>"
