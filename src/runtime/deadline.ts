/** Waits for `work`, or until `deadline` (epoch ms) if one is given, whichever comes first. */
export async function untilDeadline(work: Promise<unknown>, deadline: number | undefined): Promise<void> {
  if (deadline === undefined) {
    await work;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
}
