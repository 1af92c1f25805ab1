"""Exchange with Label Studio: tasks out (with the reviews and drafts they have), annotations back in.

- ``config``: the labelling config and the result entries its controls produce;
- ``users``: who wrote an annotation (bare id, id + email, email) and which annotator that is;
- ``images``: how tasks carry images Label Studio can show (inline, local files, review app URL);
- ``export`` / ``importer``: the JSON task list both ways, for offline exchange;
- ``sync``: push and pull through Label Studio's API (imports ``label_studio_sdk`` when used).
"""

from mmrare.annotations.review.labelstudio.config import LABEL_CONFIG
from mmrare.annotations.review.labelstudio.export import TaskBatch, build_tasks, export_tasks
from mmrare.annotations.review.labelstudio.images import ImageOptions
from mmrare.annotations.review.labelstudio.importer import ImportReport, import_annotations, import_tasks
from mmrare.annotations.review.labelstudio.users import AnnotatorResolver, LSUser, load_users

__all__ = [
    "LABEL_CONFIG",
    "AnnotatorResolver",
    "ImageOptions",
    "ImportReport",
    "LSUser",
    "TaskBatch",
    "build_tasks",
    "export_tasks",
    "import_annotations",
    "import_tasks",
    "load_users",
]
