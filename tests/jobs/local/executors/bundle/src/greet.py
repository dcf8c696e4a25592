import sys

who, fail = sys.argv[1:3]
print(f"hello {who}")
if fail == "yes":
    raise SystemExit("asked to fail")
