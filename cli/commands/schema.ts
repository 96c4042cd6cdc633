import type { Command } from 'commander';
import { jsonSchema } from '../../stacks/schema.ts';

/** `infra schema`: the stack file's JSON Schema, for editors (also committed as stacks/stack.schema.json). */
export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of stack files (point your editor at stacks/stack.schema.json)')
    .option('--json', 'accepted for symmetry: the output is JSON anyway')
    .action(() => {
      process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
    });
}
