import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { FileInfoJson } from "../../../src/client/index.js";
import { client, errorText } from "../api.js";
import { Empty, ErrorBox, Loaded, Loading, useAsync } from "../ui.js";

const TEXT = /\.(txt|json|yaml|yml|md|csv|log|py|ts|js|mjs|html|xml|toml|ini|cfg)$|(^|\/)MLmodel$/i;
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;
const PREVIEW_BYTES = 512 * 1024;

function imageType(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return ext === "svg" ? "image/svg+xml" : ext === "jpg" ? "image/jpeg" : `image/${ext}`;
}

function Preview(props: { path: string; size: number | undefined }): JSX.Element {
  const [state, setState] = useState<{ text?: string; url?: string; error?: string }>();
  useEffect(() => {
    setState(undefined);
    let url: string | undefined;
    if (!TEXT.test(props.path) && !IMAGE.test(props.path)) {
      setState({});
      return;
    }
    if ((props.size ?? 0) > PREVIEW_BYTES) {
      setState({ error: `${props.path} is ${props.size} bytes: too large to preview here; download it.` });
      return;
    }
    client()
      .downloadArtifact(props.path)
      .then(
        (bytes) => {
          if (IMAGE.test(props.path)) {
            url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: imageType(props.path) }));
            setState({ url });
            return;
          }
          let text = new TextDecoder().decode(bytes);
          if (/\.json$/i.test(props.path)) {
            try {
              text = JSON.stringify(JSON.parse(text), null, 2);
            } catch {
              // Shown as stored when it is not valid JSON.
            }
          }
          setState({ text });
        },
        (e: unknown) => setState({ error: errorText(e) }),
      );
    return () => {
      if (url !== undefined) URL.revokeObjectURL(url);
    };
  }, [props.path]);
  if (state === undefined) return <Loading />;
  if (state.error !== undefined) return <ErrorBox error={state.error} />;
  if (state.url !== undefined)
    return <img src={state.url} alt={`artifact ${props.path}`} style={{ maxWidth: "100%" }} />;
  if (state.text !== undefined)
    return (
      <pre tabIndex={0} aria-label={`contents of ${props.path}`}>
        {state.text}
      </pre>
    );
  return <p class="muted">No preview for this file type ({props.size ?? "?"} bytes).</p>;
}

/** A run's (or a version's) artifacts: folders to open, files previewed as text, JSON or images. */
export function ArtifactBrowser(props: { root: string }): JSX.Element {
  const [dir, setDir] = useState(props.root);
  const [file, setFile] = useState<FileInfoJson>();
  // The proxy lists names relative to the folder asked for.
  const [files] = useAsync(
    async () =>
      (await client().listArtifacts(dir)).map((f) => ({ ...f, path: dir === "" ? f.path : `${dir}/${f.path}` })),
    [dir],
  );
  const up = dir !== props.root ? dir.slice(0, dir.lastIndexOf("/")) : undefined;
  const name = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  return (
    <div class="grid2">
      <div>
        <p class="muted">
          <code>{dir.slice(props.root.length) || "/"}</code>
        </p>
        <Loaded a={files}>
          {(list) =>
            list.length === 0 && up === undefined ? (
              <Empty>No artifacts logged.</Empty>
            ) : (
              <ul>
                {up !== undefined && (
                  <li>
                    <button type="button" class="link" onClick={() => setDir(up)}>
                      ..
                    </button>
                  </li>
                )}
                {list.map((f) => (
                  <li key={f.path}>
                    <button
                      type="button"
                      class="link"
                      onClick={() => (f.is_dir ? setDir(f.path) : setFile(f))}
                      aria-pressed={file?.path === f.path}
                    >
                      {name(f.path)}
                      {f.is_dir ? "/" : ""}
                    </button>{" "}
                    {!f.is_dir && <span class="muted">{f.file_size ?? ""} B</span>}
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </div>
      <div>{file !== undefined && <Preview path={file.path} size={file.file_size} />}</div>
    </div>
  );
}
