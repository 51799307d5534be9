/**
 * Schema evolution rule of the public topics: BACKWARD compatibility (a consumer with the new schema reads
 * everything written with any older one), checked with avsc's schema resolution.
 */
import avsc from 'avsc';

/** Null when `reader` can read data written with `writer`, else why not. */
export function backwardIncompatibility(reader: object, writer: object): string | null {
  const readerType = avsc.Type.forSchema(reader as avsc.Schema);
  const writerType = avsc.Type.forSchema(writer as avsc.Schema);
  try {
    readerType.createResolver(writerType);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
