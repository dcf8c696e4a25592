import sys

import yaml

print(f"yaml={yaml.__file__}")
print(f"python={sys.executable}")
