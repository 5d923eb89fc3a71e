"""genlab's generalization measures: a registry, shared providers and the measure families.

Importing the package imports every module and subpackage of it (other than
the registry, the providers and the persistence toolkit), which registers
the measures they define: a new family is a new file, nothing else to edit.
"""

import importlib
import pkgutil

_INFRASTRUCTURE = {"registry", "providers", "persistence"}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in _INFRASTRUCTURE and not _info.name.startswith("_"):
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        if _info.ispkg:  # a family package: import its modules too
            for _sub in sorted(pkgutil.iter_modules(_module.__path__), key=lambda m: m.name):
                if not _sub.name.startswith("_"):
                    importlib.import_module(f"{_module.__name__}.{_sub.name}")
