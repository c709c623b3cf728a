"""Where documents come from and go to: one URI parser (``uri``), local files and stdio
(``local``), and reading/writing whole documents by URI (``documents``)."""
