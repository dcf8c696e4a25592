import argparse
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog", default="workspace")
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--run_date", default="")
    args = parser.parse_args()
    print(f"main argv={sys.argv!r}")
    print(f"catalog={args.catalog} rows={args.rows} run_date={args.run_date}")
    print(f"python={sys.executable}")


if __name__ == "__main__":
    main()
