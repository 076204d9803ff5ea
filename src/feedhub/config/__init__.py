"""feeds.yaml: what operators write, validated before anything runs.

The file is parsed with PyYAML and checked with pydantic models that forbid
unknown keys.  Every problem is reported as one line naming the file, the
line, the key path and what was expected.

- values.py: the kinds of value (durations, sizes, URLs, names, databases)
- rulespecs.py: keep/block rules as written, and the RE2 patterns they mean
- sections.py: one model per section (site, categories, sources, ...)
- settings.py: Config, the whole file, and the checks across sections
- yamlfile.py: the YAML text as data, with the line of every key
- loading.py: load_config and its error messages
- watch.py: ConfigFile, whether feeds.yaml changed while feedhub runs
- feedlist.py: sources in and out of feeds.yaml as OPML
"""

from .loading import ConfigError, load_config
from .rulespecs import RuleLists, RuleSpec
from .sections import (
    ArticleDir,
    Backup,
    Category,
    Operators,
    Partner,
    RateLimit,
    RateLimits,
    Retention,
    SavedSearch,
    Site,
    Source,
)
from .settings import Config
from .values import LOG_LEVELS
from .watch import ConfigFile

__all__ = [
    "LOG_LEVELS",
    "ArticleDir",
    "Backup",
    "Category",
    "Config",
    "ConfigError",
    "ConfigFile",
    "Operators",
    "Partner",
    "RateLimit",
    "RateLimits",
    "Retention",
    "RuleLists",
    "RuleSpec",
    "SavedSearch",
    "Site",
    "Source",
    "load_config",
]
