# Used though vulture cannot see it; each line says why (bin/deadcode.py).
