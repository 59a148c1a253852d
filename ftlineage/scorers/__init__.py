"""Built-in scorers, registered in the ``ftlineage.scorers`` entry-point group.

Text: ``exact_match``, ``contains``, ``regex``, ``numeric``, ``rouge_l``, ``refusal``,
``format_compliance``. Structured: ``json_valid``, ``json_schema``, ``json_fields``,
``grounded``, ``tool_call``. Classification: ``label``. Model-graded: ``llm_judge``.
Your own: ``python`` (``module:function``) or a package registering an entry point.
"""
