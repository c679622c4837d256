"""``assistantd import``: bring back what teams exported from OpenAI (assistants, threads with their
messages, files with their bytes, vector stores with their files), keeping every ID and timestamp, so
client code holding ``asst_``/``thread_``/``file-`` IDs keeps working. The export format is defined in
``docs/importing.md``; ``scripts/export_openai.py`` makes one.

``reader`` reads the JSONL lines, ``shapes`` checks each against OpenAI's object, ``writer`` writes it
through the store in one transaction, ``report`` keeps each outcome and prints the summary, ``run`` puts
them in order.
"""

from __future__ import annotations

from assistantd.importer.reader import DumpError
from assistantd.importer.report import Report
from assistantd.importer.run import import_dump

__all__ = ["DumpError", "Report", "import_dump"]
