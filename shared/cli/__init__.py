"""The `classops` command: `main` (the parser, global options, `main()`), `options` (what every
command group shares: settings merged from the environment and the command line, the functions
registry) and one module per command group (`timetable_group`: validate, plan;
`stack_group`: render, deploy; `inspection_group`: check, status; `runtime_group`: serve,
events), plus `observation` (what `plan` reads). The outermost layer: may import everything in
`shared`; nothing imports it.
"""
