/** The keys of the listing benchmark's bucket (bench/listing.ts), the same in every process that needs them. */

export /** Keys over 8 regions × ~90 days, prefixes of uneven size, 1 in 50 with a space or a plus. */
function bucketKeys(n: number): string[] {
  const regions = ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-east-2', 'us-west-2', 'ap-south-1', 'sa-east-1', 'af'];
  let x = 0x9e3779b9;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return Array.from({ length: n }, (_, i) => {
    const region = regions[Math.floor(rand() ** 2 * regions.length)]!;
    const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(rand() * 90) * 86_400_000).toISOString().slice(0, 10);
    const odd = i % 50 === 0 ? (i % 100 === 0 ? ' copy' : '+1') : '';
    return `events/${region}/${day}/${Math.floor(rand() * 2 ** 32).toString(16)}-${i}${odd}.json.gz`;
  });
}
