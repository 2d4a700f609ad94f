"""CI outputs of a preview: SARIF (`sarif`), JUnit XML (`junit`), a Markdown PR comment
(`markdown`) and the traffic diagram (`diagram`), all read from `PreviewResult`s."""
