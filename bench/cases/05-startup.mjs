// Start-up alone: `--version` loads each CLI's modules and exits. Explains the small-input rows, where
// start-up is most of the time.
export default function startupCases() {
  return [
    {
      id: 'startup',
      group: 'Start-up',
      title: 'start-up only (`--version`)',
      kind: 'cli',
      args: ['--version'],
      prepare: async () => ({
        inputs: [],
        files: 0,
        reports: 0,
        records: 0,
        bytes: 0,
        description: 'no input',
      }),
    },
  ];
}
