/**
 * JSON-schema validity of a model's structured output, through Ajv (JSON Schema draft-07, formats
 * from ajv-formats). Each compiled validator owns its Ajv instance.
 */
import { Ajv } from "ajv";
import addFormats from "ajv-formats";

/** The ways `text` fails the schema (`/age must be integer`, `not valid JSON: …`); empty when it conforms. */
export type OutputSchemaValidator = (text: string) => readonly string[];

/**
 * Compiles `schema`; throws Ajv's error when the schema itself is invalid or uses an unknown
 * keyword or format (a misspelt keyword would otherwise be ignored and accept anything).
 */
export function compileOutputSchema(schema: Readonly<Record<string, unknown>>): OutputSchemaValidator {
  const ajv = new Ajv({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (e) {
      return [`not valid JSON: ${(e as Error).message}`];
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (err) => `${err.instancePath === "" ? "/" : err.instancePath} ${err.message ?? err.keyword}`,
    );
  };
}
