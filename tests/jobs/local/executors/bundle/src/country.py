# One iteration: fails for the country with no rows, as a data check would.
import sys

code, rows, region, schema = sys.argv[1:5]
print(f"country={code} rows={rows} region={region} schema={schema}")
if rows == "0":
    raise SystemExit(f"no rows for {code}")
